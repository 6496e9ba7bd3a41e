/**
 * Semantic rules of the validation report's options (`validation-schema.ts` and
 * `validation.holdout.probabilityOutput`), listed in `rules.ts`'s `RULES`. Typed structurally
 * rather than through `rules.ts`'s `Rule`, which would make the two files import each other.
 */
import { parseDuration } from './duration.ts';
import type { FieldPath } from './errors.ts';
import type { ModelDeployment } from './schema.ts';

interface Problem {
  path: FieldPath;
  message: string;
}

const HOLDOUT = ['spec', 'validation', 'holdout'] as const;
const FLOATS: readonly string[] = ['float16', 'float32', 'float64'];

/**
 * Calibration reads class probabilities from an output the interface declares: a float matrix
 * [-1, classes], and not the output the predicted class comes from.
 */
function probabilityOutputUsable({ spec }: ModelDeployment): Problem[] {
  const { probabilityOutput, predictionOutput } = spec.validation.holdout;
  if (probabilityOutput === undefined) return [];
  const path = [...HOLDOUT, 'probabilityOutput'];
  const outputs = spec.interface.outputs;
  const tensor = outputs.find((output) => output.name === probabilityOutput);
  if (!tensor) {
    const names = outputs.map((output) => output.name).join(', ');
    return [
      { path, message: `"${probabilityOutput}" is not an output in spec.interface.outputs (${names})` },
    ];
  }
  if (probabilityOutput === predictionOutput) {
    return [{ path, message: 'must be another output than predictionOutput, which holds classes' }];
  }
  if (!FLOATS.includes(tensor.dtype) || tensor.shape.length !== 2) {
    return [
      {
        path,
        message: `"${probabilityOutput}" is ${tensor.dtype}[${tensor.shape.join(', ')}]; probabilities are a float matrix [-1, classes]`,
      },
    ];
  }
  return [];
}

/**
 * A slice column is read from the holdout beside the features and the label, so it must be
 * neither: not the label column, not a column the interface names as a model input, and named once.
 */
function slicesAreNotInputs({ spec }: ModelDeployment): Problem[] {
  const { slices, holdout } = spec.validation;
  if (!slices) return [];
  const inputs = new Set(
    spec.interface.inputs.flatMap((input) => (input.features ?? []).map((feature) => feature.name)),
  );
  const seen = new Map<string, number>();
  return slices.flatMap(({ column }, index): Problem[] => {
    const path = ['spec', 'validation', 'slices', index, 'column'];
    const first = seen.get(column);
    if (first !== undefined) return [{ path, message: `"${column}" is already slice ${first}` }];
    seen.set(column, index);
    if (column === holdout.labelColumn) {
      return [{ path, message: `"${column}" is the label column; slice by a column describing the rows` }];
    }
    if (inputs.has(column)) {
      return [
        {
          path,
          message: `"${column}" is a model input (spec.interface.inputs[].features); a slice column must not be fed to the model`,
        },
      ];
    }
    return [];
  });
}

/** A zero budget would measure importance on no rows at all. */
function importanceBudgetPositive({ spec }: ModelDeployment): Problem[] {
  const importance = spec.validation.importance;
  if (!importance || parseDuration(importance.budget) > 0) return [];
  return [{ path: ['spec', 'validation', 'importance', 'budget'], message: 'must be longer than 0' }];
}

/** The rules of this file, named as `RULES` names rules. */
export const VALIDATION_RULES = [
  { name: 'probability-output-usable', check: probabilityOutputUsable },
  { name: 'slices-are-not-inputs', check: slicesAreNotInputs },
  { name: 'importance-budget-positive', check: importanceBudgetPositive },
] as const;
