/**
 * The threshold judge: the candidate's error rate, p99 latency and prediction disagreement over
 * the step so far, each held to the spec's absolute limit and/or a multiple of stable's value.
 *
 * Rules, in order:
 * - Nothing is judged before the candidate has served `minRequests` requests; a comparison with
 *   stable also needs `minRequests` stable requests (a p99 of twelve requests is their maximum).
 * - A broken limit fails the step at once, even before its time is up.
 * - Before the time is up and with nothing broken: `continue`. The threshold judge never passes
 *   early: a fixed limit checked again and again only gets more chances to be wrong.
 * - Time up: `pass` when every limit was judged and holds; `inconclusive` when something could
 *   not be judged for lack of traffic.
 *
 * Fixed limits are blind to noise (two errors in the first hundred requests break `max: 0.01`);
 * the sequential judge of issue 5 is the statistical answer. Here, two guards keep ratios from
 * dividing by noise; see `errorRateMetric` and `latencyMetric`.
 */
import { formatDuration, parseDuration } from '../specs/duration.ts';
import { distributionDisagreement, pairedDisagreement } from './disagreement.ts';
import { describeMetric, formatFraction } from './format.ts';
import {
  type AnalysisLimits,
  type Judge,
  type JudgeInput,
  type MetricVerdict,
  type Outcome,
  timeIsUp,
  type Verdict,
} from './judge.ts';
import type { VersionWindow } from './window.ts';

/** One limit of a metric, resolved for this window. */
interface Bound {
  text: string;
  /** The value the candidate must stay at or below; undefined when it could not be resolved. */
  value: number | undefined;
}

/** Said when a window lost traffic to a data plane restart, since its numbers then cover less. */
const RESET_NOTE = 'counters were reset by a data plane restart; traffic before it is not counted';

/** The threshold judge, ready to plug in wherever a `Judge` is expected. */
export const thresholdJudge: Judge = { name: 'threshold', judge: judgeThresholds };

/** Judges the candidate against the spec's fixed and stable-relative limits. */
export function judgeThresholds(input: JudgeInput): Verdict {
  const { stable, candidate, limits, context } = input;
  const metrics = [
    errorRateMetric(stable, candidate, limits.errorRate, context.minRequests),
    latencyMetric(stable, candidate, limits.latencyP99, context.minRequests),
    disagreementMetric(stable, candidate, limits.disagreement, context.minRequests),
  ].filter((metric): metric is MetricVerdict => metric !== undefined);

  const verdict = (outcome: Outcome, reason: string): Verdict => ({
    outcome,
    judge: 'threshold',
    metrics,
    reason: stable.reset || candidate.reset ? `${reason} (${RESET_NOTE})` : reason,
  });

  const broken = metrics.filter((metric) => metric.passed === false);
  if (broken.length > 0) return verdict('fail', broken.map(describeMetric).join('; '));
  const served = `candidate ${candidate.requests} requests in ${formatDuration(context.elapsedMs)}`;
  if (!timeIsUp(context)) {
    return verdict(
      'continue',
      `watching, ${formatDuration(context.elapsedMs)} of ${formatDuration(context.durationMs)}: ${candidate.requests} candidate requests, no limit broken`,
    );
  }
  if (candidate.requests < context.minRequests) {
    return verdict('inconclusive', `${served}, fewer than minRequests (${context.minRequests})`);
  }
  const unjudged = metrics.filter((metric) => metric.passed === null);
  if (unjudged.length > 0) return verdict('inconclusive', unjudged.map(describeMetric).join('; '));
  return verdict('pass', `every limit holds: ${served}`);
}

/**
 * Error rate, absolute and/or relative to stable.
 *
 * The relative limit compares with `max(stable rate, 1/stable requests, 1/candidate requests)`.
 * A rate of 0 over n requests only says the true rate is below about 1/n, and a single error on
 * a side that served n requests already reads as 1/n: below that floor a ratio measures the luck
 * of the first error, not the model. With stable at 0 errors the floor keeps the ratio finite, and
 * the candidate may show `ratio` errors' worth of rate on the smaller side before it fails.
 */
function errorRateMetric(
  stable: VersionWindow,
  candidate: VersionWindow,
  limit: AnalysisLimits['errorRate'],
  minRequests: number,
): MetricVerdict | undefined {
  const bounds: Bound[] = [];
  const stableCounts = `stable ${stable.errors}/${stable.requests}`;
  let note = '';
  if (limit.max !== undefined) bounds.push({ text: `≤ ${limit.max}`, value: limit.max });
  if (limit.maxRatioToStable !== undefined) {
    const ratio = limit.maxRatioToStable;
    let value: number | undefined;
    if (stable.requests >= minRequests && candidate.requests > 0) {
      const floor = 1 / Math.min(stable.requests, candidate.requests);
      const rate = stable.errorRate ?? 0;
      if (floor > rate) note = `, floored at ${formatFraction(floor)}`;
      value = ratio * Math.max(rate, floor);
    }
    bounds.push({ text: `≤ ${ratio}× stable`, value });
  }
  if (bounds.length === 0) return undefined;
  return judged({
    name: 'errorRate',
    unit: 'fraction',
    stable: stable.errorRate,
    candidate: candidate.errorRate,
    bounds,
    enough: candidate.requests >= minRequests,
    evidence: `candidate ${candidate.errors}/${candidate.requests} requests, ${stableCounts}${note}`,
  });
}

/**
 * p99 latency, absolute and/or relative to stable.
 *
 * Percentiles come from histogram buckets about ×2.5 wide, interpolated inside the bucket; two
 * p99s in the same bucket differ by how the interpolation falls, not by anything measured. So the
 * relative bound is never tighter than the top of the bucket holding stable's p99.
 */
function latencyMetric(
  stable: VersionWindow,
  candidate: VersionWindow,
  limit: AnalysisLimits['latencyP99'],
  minRequests: number,
): MetricVerdict | undefined {
  const bounds: Bound[] = [];
  const stableP99 = stable.latency.p99;
  const candidateP99 = candidate.latency.p99;
  let note = '';
  if (limit.max !== undefined) bounds.push({ text: `≤ ${limit.max}`, value: parseDuration(limit.max) });
  if (limit.maxRatioToStable !== undefined) {
    const ratio = limit.maxRatioToStable;
    let value: number | undefined;
    if (stable.requests >= minRequests && stableP99) {
      const scaled = ratio * stableP99.ms;
      const bucketTop = stableP99.bucketUpperMs ?? 0;
      if (bucketTop > scaled) note = `, not below stable's bucket top ${formatDuration(bucketTop)}`;
      value = Math.max(scaled, bucketTop);
    }
    bounds.push({ text: `≤ ${ratio}× stable`, value });
  }
  if (bounds.length === 0) return undefined;
  return judged({
    name: 'latencyP99',
    unit: 'ms',
    stable: stableP99?.ms ?? null,
    candidate: candidateP99?.ms ?? null,
    bounds,
    enough: candidate.requests >= minRequests && candidateP99 !== null,
    evidence: `timed requests: candidate ${candidate.latency.count}, stable ${stable.latency.count}${note}`,
  });
}

/**
 * Disagreement: paired through shadow comparisons when the candidate also shadowed at least
 * `minRequests` rows in the window (it measures disagreement itself), otherwise from the two
 * predicted-class distributions (see `disagreement.ts`).
 */
function disagreementMetric(
  stable: VersionWindow,
  candidate: VersionWindow,
  limit: AnalysisLimits['disagreement'],
  minRequests: number,
): MetricVerdict {
  const shadowRows = candidate.shadow.compared + candidate.shadow.errors;
  const measured =
    shadowRows >= minRequests
      ? pairedDisagreement(candidate.shadow)
      : stable.requests >= minRequests
        ? distributionDisagreement(candidate.predictions, stable.predictions)
        : null;
  return judged({
    name: 'disagreement',
    ...(measured ? { method: measured.method } : {}),
    unit: 'fraction',
    stable: null,
    candidate: measured?.value ?? null,
    bounds: [{ text: `≤ ${limit.max}`, value: measured ? limit.max : undefined }],
    enough: candidate.requests >= minRequests && measured !== null,
    evidence:
      measured?.evidence ?? `candidate ${candidate.predictionRows} rows, stable ${stable.predictionRows}`,
  });
}

/**
 * A metric verdict from its bounds: failed when a resolved bound is exceeded (with enough
 * candidate traffic), not judged when traffic is short or a bound could not be resolved, passed
 * otherwise. The reported bound is the one broken, or else the tightest one.
 */
function judged(metric: {
  name: MetricVerdict['name'];
  method?: string;
  unit: MetricVerdict['unit'];
  stable: number | null;
  candidate: number | null;
  bounds: Bound[];
  enough: boolean;
  evidence: string;
}): MetricVerdict {
  const base = {
    name: metric.name,
    ...(metric.method ? { method: metric.method } : {}),
    unit: metric.unit,
    stable: metric.stable,
    candidate: metric.candidate,
    limit: metric.bounds.map((bound) => bound.text).join(', '),
    evidence: metric.evidence,
  };
  const resolved = metric.bounds.flatMap((bound) => (bound.value === undefined ? [] : [bound.value]));
  if (!metric.enough || metric.candidate === null || resolved.length === 0) return { ...base, passed: null };
  const tightest = Math.min(...resolved);
  const bound = { kind: 'max' as const, value: tightest };
  if (metric.candidate > tightest) return { ...base, bound, passed: false };
  const allResolved = resolved.length === metric.bounds.length;
  return { ...base, bound, passed: allResolved ? true : null };
}

/**
 * The `shadow` step's verdict: the share of mirrored rows on which the candidate agreed with
 * stable, held to `minAgreement` once `minCompared` rows were compared. A mirrored request that
 * failed on the candidate counts as one disagreeing row; requests dropped because the shadow
 * queue was full are the data plane's doing and count for nothing. Judges what was mirrored so
 * far: at the end of the step it is final; in the middle of it only a `fail` is worth acting on.
 */
export function shadowVerdict(window: VersionWindow, minAgreement: number, minCompared: number): Verdict {
  const { compared, agreed, errors, dropped } = window.shadow;
  const rows = compared + errors;
  const enough = rows >= minCompared && rows > 0;
  const agreement = rows > 0 ? agreed / rows : null;
  const details = [
    `${agreed}/${rows} mirrored rows agree`,
    ...(errors > 0 ? [`${errors} failed requests counted as disagreeing`] : []),
    ...(dropped > 0 ? [`${dropped} requests dropped by a full shadow queue`] : []),
  ];
  const passed = enough && agreement !== null ? agreement >= minAgreement : null;
  const metric: MetricVerdict = {
    name: 'agreement',
    method: 'shadow',
    unit: 'fraction',
    stable: null,
    candidate: agreement,
    limit: `≥ ${minAgreement}`,
    ...(passed === null ? {} : { bound: { kind: 'min' as const, value: minAgreement } }),
    passed,
    evidence: details.join(', '),
  };
  const outcome: Outcome = passed === null ? 'inconclusive' : passed ? 'pass' : 'fail';
  const reason =
    passed === null
      ? `only ${rows} mirrored rows compared, fewer than ${minCompared}`
      : describeMetric(metric);
  return {
    outcome,
    judge: 'shadow',
    metrics: [metric],
    reason: window.reset ? `${reason} (${RESET_NOTE})` : reason,
  };
}
