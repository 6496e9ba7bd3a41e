/**
 * How long an analysis step needs, estimated before the rollout starts, from the traffic the
 * candidate will see and stable's error rate: the time a healthy candidate takes to earn a
 * `pass`, and the time a regression of a given size takes to earn a `fail`.
 *
 * The estimate asks the sequential judge itself (`judgeSequential`), on the expected path: windows
 * whose counts are the expected values at time t (requests = rate × t, errors = requests × error
 * rate, fractional counts allowed: the e-values are smooth in them). So the figures follow the
 * judge's rules exactly, alpha shares and pass routes included, and stay true when those change.
 * They cover the error-count tests only: latency and the class distribution need the stable
 * version's live latency histogram and predictions, which do not exist before the step. Half of
 * real runs take longer than an expected-path figure, so a step should have some slack over it.
 */
import type { AnalysisSpec } from '../specs/schema.ts';
import { judgeSequential } from './sequential-judge.ts';
import { emptyWindow, type VersionWindow } from './window.ts';

/** The traffic a step will see. */
interface TrafficProfile {
  /** Requests per second to the model, all versions together. */
  requestsPerSecond: number;
  /** Stable's share of failed requests, 0 to 1 (0 is fine: the own-rate route still passes). */
  errorRate: number;
}

interface StepEstimate {
  /** Time for a candidate as good as stable to pass; Infinity when longer than `horizonMs`. */
  passMs: number;
  /** Candidate requests served by then. */
  passRequests: number;
  /** Time to fail a candidate with `failEffect` × stable's error rate; Infinity past the horizon. */
  failMs: number;
  failEffect: number;
}

/** Beyond a week a step is not going to be sized to it; the estimate says "longer than that". */
export const ESTIMATE_HORIZON_MS = 7 * 24 * 3600_000;

/**
 * Estimates one analysis step at `candidateWeight` percent of `traffic`. `failEffect` (default 2)
 * is the error-rate multiple whose detection time is reported besides the pass time.
 */
export function estimateStep(options: {
  traffic: TrafficProfile;
  candidateWeight: number;
  analysis: AnalysisSpec;
  failEffect?: number;
}): StepEstimate {
  const { traffic, analysis } = options;
  const share = options.candidateWeight / 100;
  const failEffect = options.failEffect ?? 2;
  const at = (seconds: number, effect: number) => {
    const candidateRequests = traffic.requestsPerSecond * share * seconds;
    const stableRequests = traffic.requestsPerSecond * (1 - share) * seconds;
    return judgeSequential(
      {
        stable: expectedWindow(stableRequests, stableRequests * traffic.errorRate),
        candidate: expectedWindow(candidateRequests, candidateRequests * traffic.errorRate * effect),
        limits: analysis,
        context: {
          elapsedMs: seconds * 1000,
          // Never time up: the estimate asks when the evidence is there, not what the clock says.
          durationMs: Number.MAX_SAFE_INTEGER,
          minRequests: analysis.minRequests,
          candidateWeight: options.candidateWeight,
        },
      },
      { alpha: analysis.alpha, minEffect: analysis.minEffect },
    ).outcome;
  };
  const usable = traffic.requestsPerSecond > 0 && share > 0 && share < 1;
  const passSeconds = usable ? firstTime((t) => at(t, 1) === 'pass') : Number.POSITIVE_INFINITY;
  const failSeconds =
    usable && traffic.errorRate > 0 && failEffect > 1
      ? firstTime((t) => at(t, failEffect) === 'fail')
      : Number.POSITIVE_INFINITY;
  return {
    passMs: passSeconds * 1000,
    passRequests: Number.isFinite(passSeconds)
      ? Math.ceil(traffic.requestsPerSecond * share * passSeconds)
      : Number.POSITIVE_INFINITY,
    failMs: failSeconds * 1000,
    failEffect,
  };
}

function expectedWindow(requests: number, errors: number): VersionWindow {
  return { ...emptyWindow(), requests, errors, errorRate: requests > 0 ? errors / requests : null };
}

/**
 * The first time, in seconds to within 1 %, at which `reached` holds, assuming it keeps holding
 * after (true on the expected path: evidence only accumulates). Infinity past the horizon.
 */
function firstTime(reached: (seconds: number) => boolean): number {
  const horizon = ESTIMATE_HORIZON_MS / 1000;
  let high = 1;
  while (!reached(high)) {
    high *= 2;
    if (high > horizon) return reached(horizon) ? horizon : Number.POSITIVE_INFINITY;
  }
  let low = high / 2;
  if (high === 1) return 1;
  while (high - low > low * 0.01) {
    const mid = (low + high) / 2;
    if (reached(mid)) high = mid;
    else low = mid;
  }
  return high;
}
