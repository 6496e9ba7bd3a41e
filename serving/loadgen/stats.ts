/**
 * Everything the load generator counts: outcomes by status, latency histograms (whole run, per
 * version, and the current progress interval), the version that answered, and whether its
 * prediction matched the holdout label. Pure bookkeeping with no I/O, so the arithmetic of the
 * summary is unit-testable on made-up outcomes.
 */
import { LatencyHistogram } from './histogram.ts';

/** How one request ended: an HTTP status, or why there was no HTTP answer. */
type OutcomeStatus = number | 'timeout' | 'connection' | 'protocol';

export interface Outcome {
  latencyNs: number;
  status: OutcomeStatus;
  /** The version header of the answer, when there was one. */
  version: string | undefined;
  /** The predicted class read from the answer, when it had one. */
  prediction: number | undefined;
  /** The holdout label of the row that was sent. */
  label: number;
}

/** The key under which answers without a version header are counted. */
export const NO_VERSION = '(none)';

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface VersionSummary {
  /** Answers that carried this version, successful or not. */
  requests: number;
  /** `requests` over all answers that carried a version header, 0–1. */
  share: number;
  /** Answers from this version with a status other than 2xx. */
  errors: number;
  latencyMs: LatencySummary;
  /** Successful answers whose prediction could be compared with the label. */
  scored: number;
  correct: number;
  /** `correct / scored`, or null when nothing was scored. */
  accuracy: number | null;
}

/** The counting part of a run's summary. */
export interface OutcomeSummary {
  /** Requests that finished, one way or another. */
  requests: number;
  ok: number;
  errors: number;
  /** Failures by HTTP status (`"500"`) or transport failure (`"timeout"`, `"connection"`, `"protocol"`). */
  errorsByStatus: Record<string, number>;
  latencyMs: LatencySummary;
  versions: Record<string, VersionSummary>;
}

/** What a progress line shows: totals so far, latency and shares over the last interval. */
export interface ProgressSnapshot {
  elapsedS: number;
  requests: number;
  errors: number;
  /** Over the interval since the previous snapshot (the whole run if nothing finished in it). */
  intervalLatencyMs: { p50: number; p99: number };
  intervalShares: Record<string, number>;
}

interface VersionCounters {
  requests: number;
  errors: number;
  latency: LatencyHistogram;
  scored: number;
  correct: number;
}

const ms = (ns: number) => ns / 1e6;

/** Rounds to 4 significant decimals of a millisecond (0.1 µs) so JSON stays readable. */
const round = (value: number) => Math.round(value * 1e4) / 1e4;

function latencySummary(histogram: LatencyHistogram): LatencySummary {
  return {
    p50: round(ms(histogram.percentileNs(50))),
    p90: round(ms(histogram.percentileNs(90))),
    p99: round(ms(histogram.percentileNs(99))),
    max: round(ms(histogram.maxNs)),
    mean: round(ms(histogram.meanNs)),
  };
}

const isOk = (status: OutcomeStatus) => typeof status === 'number' && status >= 200 && status < 300;

export class LoadStats {
  private readonly latency = new LatencyHistogram();
  private readonly versions = new Map<string, VersionCounters>();
  private readonly errorsByStatus = new Map<string, number>();
  private ok = 0;
  private errors = 0;
  private interval = new LatencyHistogram();
  private intervalVersions = new Map<string, number>();

  record(outcome: Outcome): void {
    this.latency.record(outcome.latencyNs);
    this.interval.record(outcome.latencyNs);
    const ok = isOk(outcome.status);
    if (ok) this.ok += 1;
    else {
      this.errors += 1;
      const key = String(outcome.status);
      this.errorsByStatus.set(key, (this.errorsByStatus.get(key) ?? 0) + 1);
    }
    if (typeof outcome.status !== 'number') return;
    const name = outcome.version ?? NO_VERSION;
    let counters = this.versions.get(name);
    if (!counters) {
      counters = { requests: 0, errors: 0, latency: new LatencyHistogram(), scored: 0, correct: 0 };
      this.versions.set(name, counters);
    }
    counters.requests += 1;
    counters.latency.record(outcome.latencyNs);
    this.intervalVersions.set(name, (this.intervalVersions.get(name) ?? 0) + 1);
    if (!ok) counters.errors += 1;
    else if (outcome.prediction !== undefined) {
      counters.scored += 1;
      if (outcome.prediction === outcome.label) counters.correct += 1;
    }
  }

  get completed(): number {
    return this.ok + this.errors;
  }

  /** Totals so far and the interval since the last call; starts a new interval. */
  progress(elapsedS: number): ProgressSnapshot {
    const fresh = this.interval.count > 0;
    const histogram = fresh ? this.interval : this.latency;
    const counts = fresh
      ? this.intervalVersions
      : new Map([...this.versions].map(([name, v]) => [name, v.requests]));
    const snapshot: ProgressSnapshot = {
      elapsedS,
      requests: this.completed,
      errors: this.errors,
      intervalLatencyMs: { p50: ms(histogram.percentileNs(50)), p99: ms(histogram.percentileNs(99)) },
      intervalShares: shares(counts),
    };
    this.interval = new LatencyHistogram();
    this.intervalVersions = new Map();
    return snapshot;
  }

  summary(): OutcomeSummary {
    const versioned = [...this.versions.values()].reduce((sum, v) => sum + v.requests, 0);
    const versions: Record<string, VersionSummary> = {};
    for (const [name, v] of [...this.versions].sort(([a], [b]) => a.localeCompare(b))) {
      versions[name] = {
        requests: v.requests,
        share: versioned === 0 ? 0 : v.requests / versioned,
        errors: v.errors,
        latencyMs: latencySummary(v.latency),
        scored: v.scored,
        correct: v.correct,
        accuracy: v.scored === 0 ? null : v.correct / v.scored,
      };
    }
    return {
      requests: this.completed,
      ok: this.ok,
      errors: this.errors,
      errorsByStatus: Object.fromEntries([...this.errorsByStatus].sort(([a], [b]) => a.localeCompare(b))),
      latencyMs: latencySummary(this.latency),
      versions,
    };
  }
}

function shares(counts: ReadonlyMap<string, number>): Record<string, number> {
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  const result: Record<string, number> = {};
  for (const [name, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    result[name] = total === 0 ? 0 : n / total;
  }
  return result;
}
