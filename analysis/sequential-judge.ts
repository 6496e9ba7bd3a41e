/**
 * The sequential judge: anytime-valid tests of candidate against stable on the same traffic, so
 * that asking again at every read does not inflate false rollbacks (issue 5).
 *
 * Every test is an e-process E_t (a nonnegative supermartingale starting at 1 under its null);
 * Ville's inequality gives P(E_t ever ≥ 1/α) ≤ α however often it is read. The judge's `alpha` is
 * split evenly over the four tests (`TESTS`), so a healthy canary is failed with probability at most
 * `alpha` in all. Windows are cumulative from the step start, so each read recomputes the
 * e-values from totals; no increments are needed.
 *
 * - errorRate: given n errors in total, under H0 (candidate error rate ≤ ρ0 × stable's, ρ0 =
 *   `errorRate.maxRatioToStable` or 1) each error lands in the candidate with probability at most
 *   p0 = ρ0·r_c / (ρ0·r_c + r_s), r = each arm's requests in the window. One-sided Beta-mixture
 *   e-value (`logEValueAbove`). The same tests at every p0 give an anytime-valid interval for the
 *   rate ratio ρ (each end at level α/4).
 * - latencyP99: the same count test on requests slower than a threshold T: the spec's
 *   `latencyP99.max`, else `maxRatioToStable` (or 1) × stable's p99, fixed at the first read where
 *   stable has `minRequests` timed requests and kept in `Verdict.state`. A request is slow when it
 *   is above the first bucket bound at or above T.
 * - disagreement (distribution): the predicted-class counts of the two arms, same distribution or
 *   not (`logEValueSameDistribution`). A rejection only fails the step when the classes' total
 *   variation distance also exceeds `disagreement.max`: a model that predicts a little differently
 *   (perhaps better) is not rolled back for a difference the spec tolerates.
 * - disagreement (shadow): when the candidate has shadow comparisons, a one-sided Beta-mixture test
 *   of the disagreement rate (failed requests count as disagreeing) against `disagreement.max`.
 *
 * Outcome, in order:
 * - `fail` as soon as any test's e-value reaches 1/(α/4), at any read, before `minRequests` too
 *   (the guarantee does not need a minimum sample).
 * - early `pass` once the candidate has served `minRequests` and every gating metric shows it is
 *   not worse by the minimum effect: the upper end of the error-ratio interval (and of the slow-
 *   request ratio, when latency is judged) is below ρ0 × (1 + minEffect), and the shadow
 *   disagreement interval (when there is shadow traffic) is below the limit. The class-distribution
 *   test has no interval and does not gate a pass. With no errors at all the ratio interval is
 *   unbounded, so low-error canaries pass at the end, not early.
 * - time up: `inconclusive` below `minRequests`; otherwise `pass` (nothing failed), or
 *   `inconclusive` when `requireEvidenceToPass` asks for the early-pass evidence even then.
 * - `continue` otherwise.
 */
import { formatDuration, parseDuration } from '../specs/duration.ts';
import {
  DEFAULT_CONCENTRATION,
  logEValueAbove,
  logEValueSameDistribution,
  proportionBounds,
} from './beta-binomial.ts';
import { totalVariationDistance } from './disagreement.ts';
import { formatFraction } from './format.ts';
import type { Judge, JudgeInput, MetricVerdict, Outcome, Verdict } from './judge.ts';
import { timeIsUp } from './judge.ts';
import type { VersionWindow } from './window.ts';

export interface SequentialOptions {
  /** Overall false-fail probability for a healthy canary, split over the tests. Default 0.01. */
  alpha?: number;
  /**
   * Relative effect not worth acting on, for an early pass: the candidate passes early once its
   * error (and slow-request) rate is shown below ρ0 × (1 + minEffect) × stable's. Default 0.25.
   */
  minEffect?: number;
  /** At the end of the step, pass only with the early-pass evidence (else inconclusive). Default false. */
  requireEvidenceToPass?: boolean;
}

/** A metric verdict with the sequential numbers; a `MetricVerdict` wherever one is expected. */
export interface SequentialMetricVerdict extends MetricVerdict {
  /** Anytime-valid interval for `of` (each end at the test's level), when the test gives one. */
  interval?: { of: string; lower: number; upper: number };
  /** log10 of the e-value against the null; the test fails at `log10Threshold`. */
  log10EValue: number;
  log10Threshold: number;
}

/** State carried between reads. */
export interface SequentialState {
  /** The slow-request threshold, fixed once resolved so that the count test keeps one meaning. */
  latencyThresholdMs?: number;
}

/** Error rate, latency, class distribution, shadow disagreement: α is split over these four. */
const TESTS = 4;
const DEFAULT_ALPHA = 0.01;
const DEFAULT_MIN_EFFECT = 0.25;

export const sequentialJudge: Judge = { name: 'sequential', judge: (input) => judgeSequential(input) };

export function judgeSequential(input: JudgeInput, options: SequentialOptions = {}): Verdict {
  const { stable, candidate, limits, context } = input;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const minEffect = options.minEffect ?? DEFAULT_MIN_EFFECT;
  const level = alpha / TESTS;
  const previousState = (input.previous?.judge === 'sequential' ? input.previous.state : undefined) as
    | SequentialState
    | undefined;

  const state: SequentialState = {};
  const metrics: SequentialMetricVerdict[] = [];
  const gating: SequentialMetricVerdict[] = [];

  const errorRatio = limits.errorRate.maxRatioToStable ?? 1;
  const errors = countTest({
    name: 'errorRate',
    what: 'errors',
    candidate: { events: candidate.errors, exposure: candidate.requests },
    stable: { events: stable.errors, exposure: stable.requests },
    nullRatio: errorRatio,
    passRatio: errorRatio * (1 + minEffect),
    level,
  });
  metrics.push(errors);
  gating.push(errors);

  const threshold =
    previousState?.latencyThresholdMs ?? latencyThresholdMs(stable, limits.latencyP99, context.minRequests);
  if (threshold !== undefined) {
    state.latencyThresholdMs = threshold;
    const slowC = slowRequests(candidate, threshold);
    const slowS = slowRequests(stable, threshold);
    if (slowC && slowS) {
      const latency = countTest({
        name: 'latencyP99',
        what: `requests slower than ${formatDuration(slowC.boundMs)}`,
        method: `slow > ${formatDuration(slowC.boundMs)}`,
        candidate: { events: slowC.slow, exposure: candidate.latency.count },
        stable: { events: slowS.slow, exposure: stable.latency.count },
        nullRatio: 1,
        passRatio: 1 + minEffect,
        level,
      });
      metrics.push(latency);
      gating.push(latency);
    }
  }

  const maxDisagreement = limits.disagreement.max;
  if (candidate.predictionRows > 0 && stable.predictionRows > 0) {
    metrics.push(distributionTest(candidate, stable, maxDisagreement, level));
  }
  const shadowRows = candidate.shadow.compared + candidate.shadow.errors;
  if (shadowRows > 0) {
    const shadow = shadowTest(candidate, maxDisagreement, level);
    metrics.push(shadow);
    gating.push(shadow);
  }

  const reset = stable.reset || candidate.reset;
  const verdict = (outcome: Outcome, reason: string): Verdict => ({
    outcome,
    judge: 'sequential',
    metrics,
    reason: reset
      ? `${reason} (counters were reset by a data plane restart; traffic before it is not counted)`
      : reason,
    state: { ...state },
  });

  const failed = metrics.filter((metric) => metric.passed === false);
  if (failed.length > 0) return verdict('fail', failed.map((metric) => metric.evidence).join('; '));

  const enough = candidate.requests >= context.minRequests;
  const evidenced = gating.every((metric) => metric.passed === true);
  const summary = metrics.map((metric) => metric.evidence).join('; ');
  if (enough && evidenced) {
    return verdict('pass', `candidate not worse by the minimum effect on every metric: ${summary}`);
  }
  if (!timeIsUp(context)) {
    return verdict(
      'continue',
      `watching, ${formatDuration(context.elapsedMs)} of ${formatDuration(context.durationMs)}: ${candidate.requests} candidate requests, no evidence of a regression yet: ${summary}`,
    );
  }
  if (!enough) {
    return verdict(
      'inconclusive',
      `time is up with ${candidate.requests} candidate requests, fewer than minRequests (${context.minRequests})`,
    );
  }
  if (options.requireEvidenceToPass) {
    return verdict('inconclusive', `time is up without evidence that the candidate is not worse: ${summary}`);
  }
  return verdict(
    'pass',
    `time is up, no evidence of a regression over ${candidate.requests} candidate requests: ${summary}`,
  );
}

interface Counts {
  events: number;
  exposure: number;
}

/**
 * The conditional count test: of the events of both arms, how many landed in the candidate,
 * against the share its exposure (and the null ratio) predicts.
 */
function countTest(test: {
  name: 'errorRate' | 'latencyP99';
  what: string;
  method?: string;
  candidate: Counts;
  stable: Counts;
  nullRatio: number;
  passRatio: number;
  level: number;
}): SequentialMetricVerdict {
  const { candidate, stable, nullRatio, level } = test;
  const rate = (counts: Counts) => (counts.exposure > 0 ? counts.events / counts.exposure : null);
  const n = candidate.events + stable.events;
  const threshold = Math.log10(1 / level);
  const base = {
    name: test.name,
    ...(test.method ? { method: test.method } : {}),
    unit: 'fraction' as const,
    stable: rate(stable),
    candidate: rate(candidate),
    limit: `≤ ${nullRatio}× stable`,
    log10Threshold: threshold,
  };
  if (candidate.exposure === 0 || stable.exposure === 0) {
    return {
      ...base,
      passed: null,
      log10EValue: 0,
      evidence: `${test.name}: not judged, candidate ${candidate.exposure} and stable ${stable.exposure} requests`,
    };
  }
  // Odds of an event being the candidate's, per unit of ratio: p/(1−p) = ρ × r_c / r_s.
  const exposureOdds = candidate.exposure / stable.exposure;
  const shareAt = (ratio: number) => (ratio * exposureOdds) / (ratio * exposureOdds + 1);
  const ratioAt = (share: number) =>
    share >= 1 ? Number.POSITIVE_INFINITY : share / (1 - share) / exposureOdds;
  const log10E = logEValueAbove(candidate.events, n, shareAt(nullRatio), DEFAULT_CONCENTRATION) / Math.LN10;
  const bounds = proportionBounds(candidate.events, n, level, DEFAULT_CONCENTRATION);
  const interval = {
    of: 'candidate/stable rate ratio',
    lower: ratioAt(bounds.lower),
    upper: ratioAt(bounds.upper),
  };
  const failed = log10E >= threshold;
  const notWorse = interval.upper < test.passRatio;
  const passed = failed ? false : notWorse ? true : null;
  const estimate =
    stable.events > 0
      ? formatFraction(candidate.events / candidate.exposure / (stable.events / stable.exposure))
      : '—';
  const confidence = `${formatFraction(100 * (1 - level))} %`;
  const evidence =
    `${test.name}: candidate ${candidate.events}/${candidate.exposure} ${test.what} vs stable ${stable.events}/${stable.exposure}, ` +
    `ratio ${estimate} (${confidence} interval ${formatFraction(interval.lower)}–${formatRatio(interval.upper)}), ` +
    `e-value 10^${log10E.toFixed(2)} ${failed ? '≥' : '<'} 10^${threshold.toFixed(2)}` +
    (failed
      ? `: worse than ${nullRatio}× stable`
      : notWorse
        ? `: below ${formatFraction(test.passRatio)}× stable`
        : '');
  const stableRate = rate(stable) ?? 0;
  return {
    ...base,
    passed,
    ...(passed === null ? {} : { bound: { kind: 'max' as const, value: nullRatio * stableRate } }),
    interval,
    log10EValue: log10E,
    evidence,
  };
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? formatFraction(value) : '∞';
}

/**
 * The slow-request threshold: the spec's absolute limit, else a multiple of stable's p99 once
 * stable has served `minRequests` timed requests; undefined until then.
 */
function latencyThresholdMs(
  stable: VersionWindow,
  limit: JudgeInput['limits']['latencyP99'],
  minRequests: number,
): number | undefined {
  if (limit.max !== undefined) return parseDuration(limit.max);
  if (stable.latency.count < minRequests || !stable.latency.p99) return undefined;
  return (limit.maxRatioToStable ?? 1) * stable.latency.p99.ms;
}

/** Requests above the first bucket bound at or above the threshold; undefined past the last bound. */
function slowRequests(
  window: VersionWindow,
  thresholdMs: number,
): { slow: number; boundMs: number } | undefined {
  const bucket = window.latency.buckets.find((b) => b.le * 1000 >= thresholdMs * (1 - 1e-9));
  if (!bucket) return undefined;
  return { slow: window.latency.count - bucket.count, boundMs: bucket.le * 1000 };
}

function distributionTest(
  candidate: VersionWindow,
  stable: VersionWindow,
  maxDisagreement: number,
  level: number,
): SequentialMetricVerdict {
  const threshold = Math.log10(1 / level);
  const log10E = logEValueSameDistribution(candidate.predictions, stable.predictions) / Math.LN10;
  const distance = totalVariationDistance(candidate.predictions, stable.predictions);
  const differs = log10E >= threshold;
  const failed = differs && distance > maxDisagreement;
  return {
    name: 'disagreement',
    method: 'distribution',
    unit: 'fraction',
    stable: null,
    candidate: distance,
    limit: `≤ ${maxDisagreement}`,
    ...(failed ? { bound: { kind: 'max' as const, value: maxDisagreement } } : {}),
    passed: failed ? false : null,
    log10EValue: log10E,
    log10Threshold: threshold,
    evidence:
      `class distribution: candidate ${candidate.predictionRows} rows vs stable ${stable.predictionRows}, ` +
      `total variation ${formatFraction(distance)}, e-value 10^${log10E.toFixed(2)} ${differs ? '≥' : '<'} 10^${threshold.toFixed(2)}` +
      (failed
        ? `: the distributions differ by more than ${maxDisagreement}`
        : differs
          ? `, within ${maxDisagreement}`
          : ''),
  };
}

function shadowTest(
  candidate: VersionWindow,
  maxDisagreement: number,
  level: number,
): SequentialMetricVerdict {
  const threshold = Math.log10(1 / level);
  const { compared, agreed, errors } = candidate.shadow;
  const rows = compared + errors;
  const differing = rows - agreed;
  const log10E = logEValueAbove(differing, rows, maxDisagreement, DEFAULT_CONCENTRATION) / Math.LN10;
  const bounds = proportionBounds(differing, rows, level, DEFAULT_CONCENTRATION);
  const failed = log10E >= threshold;
  const passed = failed ? false : bounds.upper < maxDisagreement ? true : null;
  return {
    name: 'disagreement',
    method: 'shadow',
    unit: 'fraction',
    stable: null,
    candidate: differing / rows,
    limit: `≤ ${maxDisagreement}`,
    ...(passed === null ? {} : { bound: { kind: 'max' as const, value: maxDisagreement } }),
    passed,
    interval: { of: 'disagreement rate', lower: bounds.lower, upper: bounds.upper },
    log10EValue: log10E,
    log10Threshold: threshold,
    evidence:
      `shadow: ${differing}/${rows} mirrored rows differ (${formatFraction(bounds.lower)}–${formatFraction(bounds.upper)}), ` +
      `e-value 10^${log10E.toFixed(2)} ${failed ? '≥' : '<'} 10^${threshold.toFixed(2)}` +
      (failed ? `: above ${maxDisagreement}` : passed ? `: below ${maxDisagreement}` : ''),
  };
}

/**
 * Rough time for the error test to fail a canary whose error rate is `effect` × stable's, from
 * expected traffic: the number of errors n at which the mixture e-value, evaluated on the expected
 * path (k = n·p1 candidate errors, p1 the candidate's share of errors under the effect), first
 * reaches 1/(alpha/4), divided by the expected error rate of both arms together. The expected
 * log e-value grows like n·KL(p1‖p0) − ½·log n + O(1); this evaluates the exact mixture on that path
 * instead of the asymptotic formula. A median-ish figure, not a guarantee: half the runs take longer.
 * Infinity when the effect is not a regression.
 */
export function estimateDurationMs(plan: {
  requestsPerSecond: number;
  /** The canary's share of traffic, 0 to 1. */
  candidateShare: number;
  baselineErrorRate: number;
  /** Candidate error rate as a multiple of stable's (5 = five times as many errors). */
  effect: number;
  alpha?: number;
}): number {
  const { requestsPerSecond, candidateShare, baselineErrorRate, effect } = plan;
  const alpha = plan.alpha ?? DEFAULT_ALPHA;
  if (!(effect > 1) || candidateShare <= 0 || candidateShare >= 1 || baselineErrorRate <= 0) {
    return Number.POSITIVE_INFINITY;
  }
  const p0 = candidateShare;
  const p1 = (effect * candidateShare) / (effect * candidateShare + 1 - candidateShare);
  const target = Math.log(TESTS / alpha);
  const crosses = (n: number) => logEValueAbove(n * p1, n, p0) >= target;
  let high = 1;
  while (!crosses(high)) {
    high *= 2;
    if (high > 1e9) return Number.POSITIVE_INFINITY;
  }
  let low = high / 2;
  while (high - low > 0.5) {
    const mid = (low + high) / 2;
    if (crosses(mid)) high = mid;
    else low = mid;
  }
  const errorsPerSecond =
    requestsPerSecond * baselineErrorRate * (candidateShare * effect + (1 - candidateShare));
  return (high / errorsPerSecond) * 1000;
}
