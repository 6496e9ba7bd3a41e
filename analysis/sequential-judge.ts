/**
 * The sequential judge: anytime-valid tests of candidate against stable on the same traffic, so
 * that asking again at every read does not inflate false rollbacks (issue 5).
 *
 * Every test is an e-process E_t (a nonnegative supermartingale starting at 1 under its null);
 * Ville's inequality gives P(E_t ever ≥ 1/α_i) ≤ α_i however often it is read. The judge's `alpha`
 * is split over the tests by fixed shares (`ALPHA_SHARES`, summing to 1), so a healthy canary is
 * failed with probability at most `alpha` in all. The shares are fixed in advance, never moved by
 * the data, or the guarantee would not hold. The error-count test gets the largest share: it is
 * the test with the least information per request (errors are rare), and the share is what buys
 * the power to catch a doubled error rate at a 0.1 % baseline within the hour (bench:detection).
 * Windows are cumulative from the step start, so each read recomputes the e-values from totals.
 *
 * - errorRate (ratio): given n errors in total, under H0 (candidate error rate ≤ ρ0 × stable's,
 *   ρ0 = `errorRate.maxRatioToStable` or 1) each error lands in the candidate with probability at
 *   most p0 = ρ0·r_c / (ρ0·r_c + r_s), r = each arm's requests in the window. One-sided
 *   Beta-mixture e-value (`logEValueAbove`). The same tests at every p0 give an anytime-valid
 *   interval for the rate ratio ρ.
 * - errorRate (limit): when the spec sets `errorRate.max`, the candidate's own error rate against
 *   it (errors of n candidate requests, H0: rate ≤ max). It fails a candidate that breaks the
 *   absolute limit even when stable is as bad.
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
 * - `fail` as soon as any test's e-value reaches 1/α_i, at any read, before `minRequests` too
 *   (the guarantee does not need a minimum sample).
 * - `pass` once the candidate has served `minRequests` and every gating metric has evidence that
 *   the candidate is fine, by either of two routes:
 *   - relative: the upper end of the ratio interval is below ρ0 × (1 + minEffect);
 *   - own rate: the upper end of the candidate's own rate is below a level that is fine whatever
 *     stable does. For errors, minEffect × `errorRate.max` (1 % when the spec sets none): a rate
 *     too small to matter, the route of services with (almost) no errors, where the ratio interval
 *     stays 0–∞. Not `max` itself: a ceiling is written loosely, and a candidate at 0.9 % errors
 *     beside a stable at 0.1 % must be judged on the ratio (it fails there), not waved through.
 *     For latency, 1 % of requests slow: the candidate's p99 is shown within the limit, which is
 *     what the spec's p99 limit asks; a tail beyond 1.5 × p99 is too rare in a healthy service
 *     for the ratio route to finish in a step's time.
 *   The shadow disagreement interval (when there is shadow traffic) must be below the limit. The
 *   class-distribution test has no interval and does not gate a pass.
 * - time up without either: `inconclusive`, never a pass by default. The rollout then extends or
 *   rolls back as the spec's `analysis.maxExtensions` says; `estimateStepDuration`
 *   (`step-estimate.ts`) tells beforehand how long a step needs.
 * - `continue` otherwise.
 */
import { formatDuration, parseDuration } from '../specs/duration.ts';
import {
  DEFAULT_CONCENTRATION,
  logEValueAbove,
  logEValueBelow,
  logEValueSameDistribution,
  proportionBounds,
} from './beta-binomial.ts';
import { totalVariationDistance } from './disagreement.ts';
import { formatFraction } from './format.ts';
import type { Judge, JudgeInput, MetricVerdict, Outcome, Verdict } from './judge.ts';
import { timeIsUp } from './judge.ts';
import type { VersionWindow } from './window.ts';

interface SequentialOptions {
  /** Overall false-fail probability for a healthy canary, split over the tests. Default 0.01. */
  alpha?: number;
  /**
   * Relative effect not worth acting on, for an early pass: the candidate passes early once its
   * error (and slow-request) rate is shown below ρ0 × (1 + minEffect) × stable's. Default 0.25.
   */
  minEffect?: number;
}

/** A metric verdict with the sequential numbers; a `MetricVerdict` wherever one is expected. */
interface SequentialMetricVerdict extends MetricVerdict {
  /** Anytime-valid interval for `of` (each end at the test's level), when the test gives one. */
  interval?: { of: string; lower: number; upper: number };
  /** log10 of the e-value against the null; the test fails at `log10Threshold`. */
  log10EValue: number;
  log10Threshold: number;
}

/** State carried between reads. */
interface SequentialState {
  /** The slow-request threshold, fixed once resolved so that the count test keeps one meaning. */
  latencyThresholdMs?: number;
}

/**
 * Each test's share of `alpha`; the shares sum to 1. A test that does not run in a window (no
 * shadow traffic, no `errorRate.max`) leaves its share unused rather than handing it to another:
 * moving alpha on what the data shows would break the guarantee.
 */
const ALPHA_SHARES = {
  errorRatio: 0.6,
  errorLimit: 0.05,
  latency: 0.2,
  distribution: 0.1,
  shadow: 0.05,
} as const;

/**
 * Prior concentration of the count tests' Beta mixtures (`beta-binomial.ts`). 10 puts more of the
 * prior on small effects (×1.5 to ×3) than the default 2: a ×2 regression at a 0.1 % baseline is
 * caught in 92 % of simulated hours instead of 88 %, for one or two more bad responses on a ×20 one.
 */
const COUNT_TEST_CONCENTRATION = 10;

const DEFAULT_ALPHA = 0.01;
const DEFAULT_MIN_EFFECT = 0.25;
/** The limit rate of the negligible route when the spec sets no `errorRate.max`. */
const DEFAULT_ERROR_LIMIT = 0.01;
/** Requests above a p99 limit: at most 1 % when the limit holds. */
const P99_SLOW_SHARE = 0.01;

export const sequentialJudge: Judge = { name: 'sequential', judge: (input) => judgeSequential(input) };

export function judgeSequential(input: JudgeInput, options: SequentialOptions = {}): Verdict {
  const { stable, candidate, limits, context } = input;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const minEffect = options.minEffect ?? DEFAULT_MIN_EFFECT;
  const levelOf = (test: keyof typeof ALPHA_SHARES) => alpha * ALPHA_SHARES[test];
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
    negligibleRate: minEffect * (limits.errorRate.max ?? DEFAULT_ERROR_LIMIT),
    level: levelOf('errorRatio'),
  });
  metrics.push(errors);
  gating.push(errors);
  if (limits.errorRate.max !== undefined) {
    metrics.push(limitTest(candidate, limits.errorRate.max, levelOf('errorLimit')));
  }

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
        negligibleRate: P99_SLOW_SHARE,
        level: levelOf('latency'),
      });
      metrics.push(latency);
      gating.push(latency);
    }
  }

  const maxDisagreement = limits.disagreement.max;
  if (candidate.predictionRows > 0 && stable.predictionRows > 0) {
    metrics.push(distributionTest(candidate, stable, maxDisagreement, levelOf('distribution')));
  }
  const shadowRows = candidate.shadow.compared + candidate.shadow.errors;
  if (shadowRows > 0) {
    const shadow = shadowTest(candidate, maxDisagreement, levelOf('shadow'));
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
    return verdict('pass', `candidate shown fine on every metric: ${summary}`);
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
  const missing = gating
    .filter((metric) => metric.passed !== true)
    .map((metric) => metric.name)
    .join(', ');
  return verdict(
    'inconclusive',
    `time is up without evidence that the candidate is fine on ${missing} (no regression found either): ${summary}`,
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
  /** The candidate passes on its own when its rate is shown below this (the own-rate route). */
  negligibleRate: number;
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
  const log10E =
    logEValueAbove(candidate.events, n, shareAt(nullRatio), COUNT_TEST_CONCENTRATION) / Math.LN10;
  const bounds = proportionBounds(candidate.events, n, level, COUNT_TEST_CONCENTRATION);
  const interval = {
    of: 'candidate/stable rate ratio',
    lower: ratioAt(bounds.lower),
    upper: ratioAt(bounds.upper),
  };
  const failed = log10E >= threshold;
  const notWorse = interval.upper < test.passRatio;
  // "The candidate's rate is below r" at this level is the mirror-image test rejecting rate ≥ r:
  // one e-value, not the bisection an interval would need at every read.
  const negligible =
    !failed &&
    !notWorse &&
    logEValueBelow(candidate.events, candidate.exposure, test.negligibleRate) >= Math.log(1 / level);
  const passed = failed ? false : notWorse || negligible ? true : null;
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
        : negligible
          ? `: candidate rate shown below ${formatFraction(test.negligibleRate)}`
          : '');
  const stableRate = rate(stable) ?? 0;
  return {
    ...base,
    passed,
    ...(passed === null ? {} : { bound: { kind: 'max' as const, value: nullRatio * stableRate } }),
    counts: {
      of: 'requests',
      candidate: { events: candidate.events, total: candidate.exposure },
      stable: { events: stable.events, total: stable.exposure },
    },
    interval,
    log10EValue: log10E,
    evidence,
  };
}

/** The candidate's error rate against the spec's absolute `errorRate.max`. Fails only; never gates a pass. */
function limitTest(candidate: VersionWindow, max: number, level: number): SequentialMetricVerdict {
  const threshold = Math.log10(1 / level);
  const { errors, requests } = candidate;
  const log10E = logEValueAbove(errors, requests, max) / Math.LN10;
  const failed = log10E >= threshold;
  return {
    name: 'errorRate',
    method: 'limit',
    unit: 'fraction',
    stable: null,
    candidate: requests > 0 ? errors / requests : null,
    limit: `≤ ${max}`,
    ...(failed ? { bound: { kind: 'max' as const, value: max } } : {}),
    passed: failed ? false : null,
    log10EValue: log10E,
    log10Threshold: threshold,
    counts: { of: 'requests', candidate: { events: errors, total: requests } },
    evidence:
      `error limit: candidate ${errors}/${requests}, ` +
      `e-value 10^${log10E.toFixed(2)} ${failed ? '≥' : '<'} 10^${threshold.toFixed(2)}` +
      (failed ? `: above the limit ${max}` : ''),
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
