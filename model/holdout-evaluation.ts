/**
 * A model judged on its holdout: run in the isolated child, the answer checked for shape, the
 * headline metrics against the spec's floors, the deeper analysis (per class, calibration,
 * slices) and the permutation importance. One function for the two places that need it: the
 * validate activity after merge, and `plan` on the pull request, so that a reviewer reads the
 * numbers the worker will judge by. Throws `ModelError` (never a Temporal failure); reading the
 * holdout, its privacy and the stable version's manifest are the callers' business.
 */

import type { ValidationSpec } from '../specs/schema.ts';
import { importanceOptions } from '../specs/validation-schema.ts';
import { ModelError, ModelErrorKind } from './errors.ts';
import type { LatencyOptions } from './feeding.ts';
import type { HoldoutData } from './holdout.ts';
import { DEFAULT_ISOLATION_LIMITS, type IsolationLimits, runModelIsolated } from './isolation.ts';
import { accuracy, f1Macro, judgeMetrics, type MetricResult } from './metrics.ts';
import type { ModelRunResult } from './model-run.ts';
import { analyseHoldout, type HoldoutAnalysis } from './report/analysis.ts';
import {
  type ImportanceReport,
  type PermutationPlan,
  permutationImportance,
  planPermutation,
} from './report/importance.ts';
import { sliceFailures } from './report/slices.ts';
import type { InterfaceSpec } from './session.ts';

export interface HoldoutEvaluationInput {
  /** A private copy of the model: the child loads it from here. */
  modelPath: string;
  /** How messages name the model. */
  label: string;
  interface: InterfaceSpec;
  validation: ValidationSpec;
  holdout: HoldoutData;
  batchSize?: number;
  latency?: Partial<LatencyOptions>;
  isolation?: Partial<IsolationLimits>;
  onProgress?: (details: unknown) => void;
  signal?: AbortSignal;
}

/** What the holdout says of the model; `passed` when every floor (metrics and slices) is met. */
export interface HoldoutEvaluation {
  passed: boolean;
  metrics: MetricResult[];
  /** The slice floors not met, in words (`sliceFailures`); empty when every slice passed. */
  slicesFailed: string[];
  analysis: HoldoutAnalysis;
  importance?: ImportanceReport;
  run: ModelRunResult;
}

/** Runs the model on the holdout in the isolated child and judges it; see the module comment. */
export async function evaluateOnHoldout(input: HoldoutEvaluationInput): Promise<HoldoutEvaluation> {
  const { validation, holdout, label } = input;
  const isolation: IsolationLimits = { ...DEFAULT_ISOLATION_LIMITS, ...input.isolation };
  const importance = importanceOptions(validation.importance);
  // Half the child's time limit at most, so a generous budget cannot get the child killed.
  const budgetMs = Math.min(importance.budgetMs, isolation.timeoutMs / 2);
  const plan = importance.enabled
    ? planPermutation(holdout.rows, holdout.featureNames.length, { ...importance, budgetMs })
    : undefined;
  const run = await runModelIsolated(
    {
      modelPath: input.modelPath,
      label,
      interface: input.interface,
      validation,
      holdout,
      batchSize: input.batchSize ?? 256,
      latency: input.latency ?? {},
      ...(plan ? { permutation: plan } : {}),
    },
    {
      limits: isolation,
      onProgress: input.onProgress ?? (() => {}),
      ...(input.signal ? { signal: input.signal } : {}),
    },
  );
  checkRunShape(run, holdout.rows, plan, label);
  const metrics = judgeMetrics(
    {
      accuracy: accuracy(holdout.labels, run.predictions),
      f1Macro: f1Macro(holdout.labels, run.predictions),
      latencyP50: run.latency.p50Ms,
      latencyP99: run.latency.p99Ms,
    },
    validation.metrics,
  );
  const { probabilityOutput } = validation.holdout;
  const analysis = analyseHoldout({
    holdout,
    predictions: run.predictions,
    ...(run.probabilities && probabilityOutput
      ? { probabilities: { output: probabilityOutput, ...run.probabilities } }
      : {}),
    ...(validation.slices ? { slices: validation.slices } : {}),
    overallAccuracy: metrics.find((metric) => metric.name === 'accuracy')?.value ?? 0,
  });
  const slicesFailed = sliceFailures(analysis.slices ?? []);
  const explained = importanceOf(holdout, run, plan);
  return {
    passed: metrics.every((metric) => metric.passed) && slicesFailed.length === 0,
    metrics,
    slicesFailed,
    analysis,
    ...(explained ? { importance: explained } : {}),
    run,
  };
}

/**
 * The child ran a possibly hostile model: its answer's sizes are checked against what was asked
 * before any number is computed from it, and a mismatch is the model's run failing.
 */
export function checkRunShape(
  run: ModelRunResult,
  rows: number,
  plan: PermutationPlan | undefined,
  label: string,
): void {
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
    throw new ModelError(
      ModelErrorKind.ModelUnloadable,
      `the validation process for model ${label} answered out of shape: ${problems.join('; ')}`,
      { problems },
    );
  }
}

/** The importance report from the child's shuffled passes, when a plan was run. */
function importanceOf(
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
