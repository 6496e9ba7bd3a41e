/**
 * The detection benchmark's simulation: seeded synthetic traffic in simulated seconds, replayed to
 * modelship's sequential judge and two reference judges (Flagger-style, Argo-style) side by side.
 * Pure computation, no I/O, no waiting: one run of one simulated hour takes milliseconds.
 */

import { histogramQuantile } from '../../analysis/histogram.ts';
import type { AnalysisLimits, Verdict } from '../../analysis/judge.ts';
import { judgeSequential } from '../../analysis/sequential-judge.ts';
import { type VersionCounters, versionWindow } from '../../analysis/window.ts';
import { LATENCY_BUCKETS } from '../../serving/metrics.ts';
import { parseDuration } from '../../specs/duration.ts';

// ---------------------------------------------------------------------------------------------
// Random numbers

/** mulberry32: a small, fast, seeded 32-bit generator; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for one (scenario, run), so that every scenario replays alone with the same traffic. */
export function runSeed(seed: number, scenario: number, run: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [scenario, run]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h;
}

/**
 * Binomial(n, p): exact inversion (walk of the pmf) when n·p·(1−p) ≤ 50, else the normal
 * approximation rounded and clamped (only for large counts, where it is accurate to well under a
 * request at this scale: the canary/stable split and the split of fast requests across buckets).
 */
export function binomial(rand: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(rand, n, 1 - p);
  const variance = n * p * (1 - p);
  if (variance > 50) {
    const u1 = rand() || 1e-12;
    const u2 = rand();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.min(n, Math.max(0, Math.round(n * p + z * Math.sqrt(variance))));
  }
  const q = 1 - p;
  const r = p / q;
  let pmf = Math.exp(n * Math.log1p(-p));
  let cdf = pmf;
  let k = 0;
  const u = rand();
  while (u > cdf && k < n) {
    pmf *= (r * (n - k)) / (k + 1);
    k += 1;
    cdf += pmf;
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// Traffic

/**
 * Latency per request, by the data plane's buckets (`LATENCY_BUCKETS`, seconds): fast requests
 * spread over (1, 2.5], (2.5, 5] and (5, 10] ms; slow requests in (0.5, 1] s. The slow share is
 * what a latency regression changes.
 */
const FAST_BUCKETS: readonly { index: number; share: number; midSeconds: number }[] = [
  { index: LATENCY_BUCKETS.indexOf(0.0025), share: 0.3, midSeconds: 0.00175 },
  { index: LATENCY_BUCKETS.indexOf(0.005), share: 0.55, midSeconds: 0.00375 },
  { index: LATENCY_BUCKETS.indexOf(0.01), share: 0.15, midSeconds: 0.0075 },
];
const SLOW_BUCKET = { index: LATENCY_BUCKETS.indexOf(1), midSeconds: 0.75 };

interface Arm {
  errorRate: number;
  /** Share of requests in the slow bucket (0.5–1 s). */
  slowShare: number;
}

export interface Scenario {
  name: string;
  /** Ground truth: a healthy candidate must not be rolled back; any other must be. */
  healthy: boolean;
  stable: Arm;
  candidate: Arm;
  /** The spec's `latencyP99.max` when the scenario sets one (the latency scenario). */
  latencyP99Max?: string;
  /** Whether the reference judges also check p99 (the latency scenario), besides the error rate. */
  referenceChecksLatency: boolean;
}

export interface SimulationConfig {
  requestsPerSecond: number;
  /** Candidate share of requests, 0..1 (per-request routing: each request flips a coin). */
  canaryShare: number;
  /** Simulated step length, seconds. */
  durationSeconds: number;
  /** Counters are read (and the sequential judge asked) every this many simulated seconds. */
  tickSeconds: number;
  alpha: number;
  minEffect: number;
  minRequests: number;
  /** The analysis limits parsed from an empty spec block (the spec's defaults). */
  defaultLimits: AnalysisLimits;
  flagger: { intervalSeconds: number; maxErrorRate: number; threshold: number };
  argo: { intervalSeconds: number; maxErrorRate: number; failureLimit: number };
}

/** Per-bucket (not cumulative) counts of one tick, plus the +Inf slot. */
const SLOTS = LATENCY_BUCKETS.length + 1;

interface ArmCumulative {
  requests: number;
  errors: number;
  slots: Float64Array;
  sum: number;
}

function newArm(): ArmCumulative {
  return { requests: 0, errors: 0, slots: new Float64Array(SLOTS), sum: 0 };
}

/** Serves `n` requests of one arm for one tick into `into` (and `tick`, for interval judges). */
function serveArm(rand: () => number, n: number, arm: Arm, into: ArmCumulative, tick: Float64Array): number {
  const errors = binomial(rand, n, arm.errorRate);
  const slow = binomial(rand, n, arm.slowShare);
  let rest = n - slow;
  let remainingShare = 1;
  tick.fill(0);
  tick[SLOW_BUCKET.index] = slow;
  let sum = slow * SLOW_BUCKET.midSeconds;
  for (const [i, bucket] of FAST_BUCKETS.entries()) {
    const count = i === FAST_BUCKETS.length - 1 ? rest : binomial(rand, rest, bucket.share / remainingShare);
    remainingShare -= bucket.share;
    rest -= count;
    tick[bucket.index] = count;
    sum += count * bucket.midSeconds;
  }
  into.requests += n;
  into.errors += errors;
  into.sum += sum;
  for (let i = 0; i < SLOTS; i += 1) into.slots[i] = (into.slots[i] ?? 0) + (tick[i] ?? 0);
  return errors;
}

function cumulativeBuckets(slots: ArrayLike<number>): { le: number; count: number }[] {
  let running = 0;
  return LATENCY_BUCKETS.map((le, index) => {
    running += slots[index] ?? 0;
    return { le, count: running };
  });
}

function counters(arm: ArmCumulative): VersionCounters {
  return {
    requests: arm.requests,
    errors: arm.errors > 0 ? { inference: arm.errors } : {},
    latency: { buckets: cumulativeBuckets(arm.slots), sum: arm.sum, count: arm.requests },
    predictions: {},
    shadow: { compared: 0, agreed: 0, dropped: 0, errors: 0 },
  };
}

// ---------------------------------------------------------------------------------------------
// One run

/** What one judge did in one run. */
export interface JudgeOutcome {
  /** `fail` (rolled back), `pass` (sequential only: passed early or at the end), or `none`. */
  outcome: 'fail' | 'pass' | 'none';
  /** Simulated seconds at the decision; null without one. */
  atSeconds: number | null;
  /** Candidate requests served up to the decision (or the whole hour). */
  canaryRequests: number;
  /** Candidate errors served up to the decision (or the whole hour). */
  badResponses: number;
}

export interface RunResult {
  sequential: JudgeOutcome;
  flagger: JudgeOutcome;
  argo: JudgeOutcome;
  judgeCalls: number;
  judgeMs: number;
}

/** A reference judge: an interval check on the candidate over the last interval only. */
class IntervalJudge {
  private failures = 0;
  private requests = 0;
  private errors = 0;
  private readonly slots = new Float64Array(SLOTS);
  private elapsed = 0;
  decided: JudgeOutcome | null = null;

  constructor(
    private readonly intervalSeconds: number,
    private readonly maxErrorRate: number,
    private readonly maxP99Seconds: number | undefined,
    /** Roll back when failed checks reach this count. */
    private readonly rollbackAt: number,
  ) {}

  /** Feeds one tick of candidate traffic; checks at the end of each interval. */
  tick(
    seconds: number,
    now: number,
    requests: number,
    errors: number,
    slots: Float64Array,
    total: { requests: number; errors: number },
  ): void {
    if (this.decided) return;
    this.requests += requests;
    this.errors += errors;
    for (let i = 0; i < SLOTS; i += 1) this.slots[i] = (this.slots[i] ?? 0) + (slots[i] ?? 0);
    this.elapsed += seconds;
    if (this.elapsed < this.intervalSeconds) return;
    let failed = this.requests > 0 && this.errors / this.requests > this.maxErrorRate;
    if (!failed && this.maxP99Seconds !== undefined && this.requests > 0) {
      const p99 = histogramQuantile(cumulativeBuckets(this.slots), this.requests, 0.99);
      failed = p99 !== undefined && p99.seconds > this.maxP99Seconds;
    }
    if (failed) this.failures += 1;
    if (this.failures >= this.rollbackAt) {
      this.decided = {
        outcome: 'fail',
        atSeconds: now,
        canaryRequests: total.requests,
        badResponses: total.errors,
      };
    }
    this.requests = 0;
    this.errors = 0;
    this.slots.fill(0);
    this.elapsed = 0;
  }
}

export function simulateRun(config: SimulationConfig, scenario: Scenario, seed: number): RunResult {
  const rand = mulberry32(seed);
  const stable = newArm();
  const candidate = newArm();
  const tickStable = new Float64Array(SLOTS);
  const tickCandidate = new Float64Array(SLOTS);
  const limits: AnalysisLimits = {
    ...config.defaultLimits,
    ...(scenario.latencyP99Max ? { latencyP99: { max: scenario.latencyP99Max } } : {}),
  };
  const referenceP99 =
    scenario.referenceChecksLatency && scenario.latencyP99Max
      ? parseDuration(scenario.latencyP99Max) / 1000
      : undefined;
  const flagger = new IntervalJudge(
    config.flagger.intervalSeconds,
    config.flagger.maxErrorRate,
    referenceP99,
    config.flagger.threshold,
  );
  const argo = new IntervalJudge(
    config.argo.intervalSeconds,
    config.argo.maxErrorRate,
    referenceP99,
    config.argo.failureLimit + 1,
  );
  let sequential: JudgeOutcome | null = null;
  let previous: Verdict | undefined;
  let judgeCalls = 0;
  let judgeMs = 0;
  const ticks = Math.round(config.durationSeconds / config.tickSeconds);
  const perTick = Math.round(config.requestsPerSecond * config.tickSeconds);
  for (let t = 1; t <= ticks; t += 1) {
    const now = t * config.tickSeconds;
    const nCandidate = binomial(rand, perTick, config.canaryShare);
    serveArm(rand, perTick - nCandidate, scenario.stable, stable, tickStable);
    const candidateErrors = serveArm(rand, nCandidate, scenario.candidate, candidate, tickCandidate);
    const total = { requests: candidate.requests, errors: candidate.errors };
    flagger.tick(config.tickSeconds, now, nCandidate, candidateErrors, tickCandidate, total);
    argo.tick(config.tickSeconds, now, nCandidate, candidateErrors, tickCandidate, total);
    if (!sequential) {
      const started = performance.now();
      const verdict = judgeSequential(
        {
          stable: versionWindow(undefined, counters(stable)),
          candidate: versionWindow(undefined, counters(candidate)),
          limits,
          context: {
            elapsedMs: now * 1000,
            durationMs: config.durationSeconds * 1000,
            minRequests: config.minRequests,
            candidateWeight: config.canaryShare * 100,
          },
          ...(previous ? { previous } : {}),
        },
        { alpha: config.alpha, minEffect: config.minEffect },
      );
      judgeMs += performance.now() - started;
      judgeCalls += 1;
      previous = verdict;
      if (verdict.outcome === 'fail' || verdict.outcome === 'pass') {
        sequential = {
          outcome: verdict.outcome,
          atSeconds: now,
          canaryRequests: total.requests,
          badResponses: total.errors,
        };
      }
    }
    if (sequential && flagger.decided && argo.decided) break;
  }
  const whole: JudgeOutcome = {
    outcome: 'none',
    atSeconds: null,
    canaryRequests: candidate.requests,
    badResponses: candidate.errors,
  };
  return {
    sequential: sequential ?? whole,
    flagger: flagger.decided ?? whole,
    argo: argo.decided ?? whole,
    judgeCalls,
    judgeMs,
  };
}
