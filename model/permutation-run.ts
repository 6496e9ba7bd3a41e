/**
 * The child's half of permutation importance (`report/importance.ts` has the plan and the
 * numbers): with the session validation already loaded, shuffle each planned column across the
 * planned rows, repeat after repeat, and predict again. Only predictions go back to the parent.
 *
 * One working copy of the sampled rows is made; each pass overwrites one column with its shuffled
 * values and restores it afterwards, so memory stays at one copy whatever the number of passes.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { ValidationSpec } from '../specs/schema.ts';
import { type ProgressReporter, planFeeding } from './feeding.ts';
import type { HoldoutData } from './holdout.ts';
import { predictRows } from './predict.ts';
import {
  MIN_IMPORTANCE_ROWS,
  type PermutationPlan,
  type PermutationRun,
  shuffleKey,
} from './report/importance.ts';
import { permutation } from './report/shuffle.ts';
import type { InterfaceSpec, ModelSignature } from './session.ts';

export interface PermutationContext {
  session: InferenceSession;
  signature: ModelSignature;
  interface: InterfaceSpec;
  validation: ValidationSpec;
  holdout: HoldoutData;
  batchSize: number;
  /** What one holdout row cost in the holdout pass, to fit the plan into its budget. */
  msPerRow: number;
}

/** Rows to use so that `features × repeats × rows` fits the budget at the holdout pass's pace. */
export function rowsWithinBudget(plan: PermutationPlan, msPerRow: number): number {
  const planned = plan.rows.length;
  const passes = plan.features * plan.repeats;
  if (passes === 0 || msPerRow <= 0) return planned;
  const affordable = Math.floor(plan.budgetMs / (passes * msPerRow));
  return Math.min(planned, Math.max(Math.min(planned, MIN_IMPORTANCE_ROWS), affordable));
}

/** Runs the plan; see the module comment. */
export async function runPermutations(
  context: PermutationContext,
  plan: PermutationPlan,
  progress: ProgressReporter,
): Promise<PermutationRun> {
  const started = performance.now();
  const { holdout } = context;
  const width = holdout.featureNames.length;
  const rows = rowsWithinBudget(plan, context.msPerRow);
  const features = new Float64Array(rows * width);
  for (let i = 0; i < rows; i += 1) {
    const from = (plan.rows[i] as number) * width;
    features.set(holdout.features.subarray(from, from + width), i * width);
  }
  // The sample's own rows only: the labels and slices stay with the parent, which scores them.
  const { slices: _groups, ...columns } = holdout;
  const sample: HoldoutData = { ...columns, rows, features, labels: new Int32Array(rows) };
  const feed = planFeeding(
    context.signature,
    context.interface,
    context.validation,
    sample,
    context.batchSize,
  );
  const output = { prediction: context.validation.holdout.predictionOutput };
  const predictions = new Int32Array(plan.features * plan.repeats * rows);
  const original = new Float64Array(rows);
  let done = 0;
  progress({ phase: 'importance', features: 0, rows });
  for (let f = 0; f < plan.features; f += 1) {
    if (f > 0 && performance.now() - started > plan.budgetMs) break;
    for (let i = 0; i < rows; i += 1) original[i] = features[i * width + f] as number;
    for (let r = 0; r < plan.repeats; r += 1) {
      const order = permutation(rows, shuffleKey(plan.seed, f, r));
      for (let i = 0; i < rows; i += 1) features[i * width + f] = original[order[i] as number] as number;
      const pass = await predictRows(context.session, feed, rows, output, `shuffled rows (feature ${f + 1})`);
      predictions.set(pass.predictions, (f * plan.repeats + r) * rows);
    }
    for (let i = 0; i < rows; i += 1) features[i * width + f] = original[i] as number;
    done = f + 1;
    progress({ phase: 'importance', features: done, rows });
  }
  return {
    rows,
    features: done,
    predictions: predictions.slice(0, done * plan.repeats * rows),
    elapsedMs: Math.round((performance.now() - started) * 10) / 10,
  };
}
