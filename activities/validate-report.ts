/**
 * The validate activity's share of the deeper report (`model/report/` computes it): checking the
 * isolated child's answer against what was asked, the importance report from its shuffled
 * passes, and the comparison with the stable version's importances through the
 * `StableManifests` port, which is reported, never judged.
 */
import type { DeploymentRef } from '../domain/deployment.ts';
import type { HoldoutData } from '../model/holdout.ts';
import type { ModelRunResult } from '../model/model-run.ts';
import type { Explanations } from '../model/report/analysis.ts';
import {
  type ImportanceReport,
  importanceShift,
  type PermutationPlan,
  permutationImportance,
} from '../model/report/importance.ts';
import { importanceInManifest } from '../model/report/importance-schema.ts';
import { domainFailure, FailureType } from './failures.ts';
import type { StableManifests } from './stable-importance.ts';

/**
 * The child ran a possibly hostile model: its answer's sizes are checked against what was asked
 * before any number is computed from it, and a mismatch is the model's run failing.
 */
export function checkRunShape(
  run: ModelRunResult,
  rows: number,
  plan: PermutationPlan | undefined,
  label: string,
) {
  const problems: string[] = [];
  if (run.predictions.length !== rows)
    problems.push(`${run.predictions.length} predictions for ${rows} rows`);
  const probabilities = run.probabilities;
  if (probabilities && probabilities.values.length !== rows * probabilities.columns) {
    problems.push(
      `${probabilities.values.length} probabilities for ${rows} rows × ${probabilities.columns} classes`,
    );
  }
  const shuffled = run.permutation;
  if (shuffled && plan) {
    const expected = shuffled.features * plan.repeats * shuffled.rows;
    if (
      shuffled.rows > plan.rows.length ||
      shuffled.features > plan.features ||
      shuffled.predictions.length !== expected
    ) {
      problems.push(
        `${shuffled.predictions.length} shuffled predictions for ${shuffled.features} of ${plan.features} features × ${plan.repeats} repeats × ${shuffled.rows} of ${plan.rows.length} rows`,
      );
    }
  }
  if (problems.length > 0) {
    throw domainFailure(
      FailureType.ModelUnloadable,
      `the validation process for model ${label} answered out of shape: ${problems.join('; ')}`,
      { problems },
    );
  }
}

/** The importance report from the child's shuffled passes, when a plan was run. */
export function importanceOf(
  holdout: HoldoutData,
  run: ModelRunResult,
  plan: PermutationPlan | undefined,
): ImportanceReport | undefined {
  if (!plan || !run.permutation) return undefined;
  return permutationImportance({
    featureNames: holdout.featureNames,
    labels: holdout.labels,
    predictions: run.predictions,
    plan,
    run: run.permutation,
  });
}

/** How long validation waits for the stable version's manifest before reporting it unavailable. */
const STABLE_LOOKUP_MS = 10_000;

/**
 * The explanations with the shift against the stable version's importances, or with the reason
 * there is none. Never throws for the stable's sake: the comparison is information, not a gate.
 */
export async function compareWithStable(
  source: StableManifests | undefined,
  deployment: DeploymentRef,
  importance: ImportanceReport,
  topK: number,
): Promise<Explanations> {
  if (!source) return { importance, shiftUnavailable: 'this worker has no way to read the stable version' };
  let stable: Awaited<ReturnType<StableManifests['read']>>;
  let timer: NodeJS.Timeout | undefined;
  try {
    // A data plane that does not answer must not hold a validation that is already done.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${STABLE_LOOKUP_MS / 1000} s`)),
        STABLE_LOOKUP_MS,
      );
    });
    stable = await Promise.race([source.read(deployment), late]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      importance,
      shiftUnavailable: `the stable version could not be read through the ${source.name}: ${message}`,
    };
  } finally {
    clearTimeout(timer);
  }
  if (!stable) return { importance, shiftUnavailable: 'the model has no stable version yet' };
  const found = importanceInManifest(stable.manifest);
  if (!found.ok) return { importance, shiftUnavailable: `stable version ${stable.version}: ${found.reason}` };
  return {
    importance,
    shift: {
      stable: { version: stable.version, bundleDigest: stable.bundleDigest },
      ...importanceShift(found.importance, importance, topK),
    },
  };
}
