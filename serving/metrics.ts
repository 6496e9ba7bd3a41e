/**
 * Per-version measurements. Each loaded version holds its own `VersionMetrics` object, so the
 * request path records with plain number increments: no label strings, no map lookups. Counters
 * are cumulative for the life of the process (a version unloaded and loaded again keeps counting),
 * so a reader such as the monitor activity takes differences between two snapshots.
 *
 * What the canary judge reads (`requests`, `errors`, latency, predictions) is routed traffic that
 * reached the model, and only the model's own failures count as errors. Everything a client
 * controls is counted apart, so no client can make a healthy version look bad:
 * - refused requests (malformed, too large, too slow to arrive, abandoned, asking for too large
 *   an answer) are the client's doing: `refused`, by reason, never an error of the version;
 * - requests pinned to a version (`x-modelship-version`, or a `/versions/{v}` URL) are chosen by
 *   the client, not by the router, so they are no sample of the version's live traffic:
 *   `pinned`. Counting them apart, rather than requiring a token to pin, keeps pinning open to
 *   smoke tests and the load generator while leaving the judge's sample to the router.
 */
import type { MetricsSnapshot, VersionMetricsSnapshot } from './api-types.ts';
import type { VersionStatistics } from './live-statistics.ts';

/** Why a request was refused before the model answered it: each is the client's doing. */
export const REFUSAL_REASONS = [
  'bad_request',
  'too_large',
  'timeout',
  'client_closed',
  'response_too_large',
] as const;
/** One refusal reason. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** How the model failed a request it ran: the version's own errors, the ones the judge reads. */
export const SERVER_ERROR_KINDS = ['inference', 'non_finite'] as const;
/** One kind of server-side failure. */
export type ServerErrorKind = (typeof SERVER_ERROR_KINDS)[number];

/** How one infer request that a version took ended. */
export type RequestOutcome = 'ok' | ServerErrorKind | RefusalReason;

/** Refusals by reason, every reason present (so snapshots and Prometheus series never change shape). */
export type RefusalCounts = Record<RefusalReason, number>;

const noRefusals = (): RefusalCounts => ({
  bad_request: 0,
  too_large: 0,
  timeout: 0,
  client_closed: 0,
  response_too_large: 0,
});

/** Counters of the requests pinned to a version: kept apart from the routed traffic the judge reads. */
export interface PinnedCounters {
  /** Pinned requests that reached the model, failed ones included. */
  requests: number;
  inferenceErrors: number;
  nonFinite: number;
  readonly refused: RefusalCounts;
}

/** Histogram bounds in seconds: fine steps from 10 µs (a hot tiny model) up to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5, 10,
];

// Classes 0..SMALL_CLASS_LIMIT-1 are counted in an array; others (negative, huge, strings) in a map.
const SMALL_CLASS_LIMIT = 4096;

/** The counters of one (model, version). */
export class VersionMetrics {
  /** Routed requests that reached the model, failed ones included: the judge's exposure. */
  requests = 0;
  /** Routed requests the model failed to run. */
  inferenceErrors = 0;
  /** Routed requests whose output held NaN or ±Infinity. */
  nonFinite = 0;
  /** Routed requests refused before the model answered, by reason. */
  readonly refused: RefusalCounts = noRefusals();
  /** Requests pinned to this version; never in the counters above. */
  readonly pinned: PinnedCounters = { requests: 0, inferenceErrors: 0, nonFinite: 0, refused: noRefusals() };
  /** Per-bucket (not cumulative) counts; the last slot is the +Inf overflow. */
  readonly latencyCounts = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  latencyCount = 0;
  private smallClasses = new Float64Array(8);
  private readonly otherClasses = new Map<string, number>();
  shadowCompared = 0;
  shadowAgreed = 0;
  shadowDropped = 0;
  shadowErrors = 0;
  readonly countingSince = new Date().toISOString();
  /**
   * The inputs' live statistics and data-quality counters, laid out when the version is loaded
   * (`live-statistics.ts`); kept here, beside the other counters, across unload and reload.
   */
  statistics: VersionStatistics | undefined;

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /**
   * Records how one infer request ended. `seconds` is the server's time on a request the model
   * ran (routed only: pinned requests are not timed); a refused request is never timed.
   */
  record(pinned: boolean, outcome: RequestOutcome, seconds: number): void {
    const counters: PinnedCounters = pinned ? this.pinned : this;
    switch (outcome) {
      case 'ok':
      case 'inference':
      case 'non_finite':
        counters.requests += 1;
        if (outcome === 'inference') counters.inferenceErrors += 1;
        else if (outcome === 'non_finite') counters.nonFinite += 1;
        if (!pinned) this.observeLatency(seconds);
        return;
      default:
        counters.refused[outcome] += 1;
    }
  }

  /** Records one request's duration in seconds. */
  observeLatency(seconds: number): void {
    let index = 0;
    // Linear on purpose: a typical request lands in one of the first buckets.
    while (index < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[index] ?? 0)) index += 1;
    this.latencyCounts[index] = (this.latencyCounts[index] ?? 0) + 1;
    this.latencySum += seconds;
    this.latencyCount += 1;
  }

  /** Counts every row of a prediction output (integer classes or strings). */
  countPredictions(values: ArrayLike<number | bigint | string>): void {
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i];
      const asNumber = typeof value === 'string' ? Number.NaN : Number(value);
      if (Number.isInteger(asNumber) && asNumber >= 0 && asNumber < SMALL_CLASS_LIMIT) {
        if (asNumber >= this.smallClasses.length) this.growClasses(asNumber);
        this.smallClasses[asNumber] = (this.smallClasses[asNumber] ?? 0) + 1;
      } else {
        const key = String(value);
        this.otherClasses.set(key, (this.otherClasses.get(key) ?? 0) + 1);
      }
    }
  }

  private growClasses(index: number): void {
    const grown = new Float64Array(
      Math.min(SMALL_CLASS_LIMIT, Math.max(index + 1, this.smallClasses.length * 2)),
    );
    grown.set(this.smallClasses);
    this.smallClasses = grown;
  }

  /** Predicted class → count, classes never predicted left out. */
  predictions(): Record<string, number> {
    const result: Record<string, number> = {};
    this.smallClasses.forEach((count, index) => {
      if (count > 0) result[String(index)] = count;
    });
    for (const [key, count] of this.otherClasses) result[key] = count;
    return result;
  }

  /** The counters as JSON (histogram buckets cumulative). */
  snapshot(): VersionMetricsSnapshot {
    let cumulative = 0;
    const buckets = LATENCY_BUCKETS.map((le, index) => {
      cumulative += this.latencyCounts[index] ?? 0;
      return { le, count: cumulative };
    });
    return {
      countingSince: this.countingSince,
      requests: this.requests,
      errors: { inference: this.inferenceErrors, non_finite: this.nonFinite },
      latency: { buckets, sum: this.latencySum, count: this.latencyCount },
      predictions: this.predictions(),
      shadow: {
        compared: this.shadowCompared,
        agreed: this.shadowAgreed,
        dropped: this.shadowDropped,
        errors: this.shadowErrors,
      },
      refused: { ...this.refused },
      pinned: {
        requests: this.pinned.requests,
        errors: { inference: this.pinned.inferenceErrors, non_finite: this.pinned.nonFinite },
        refused: { ...this.pinned.refused },
      },
    };
  }
}

/** Every version's counters, created when a version is loaded and kept for the life of the process. */
export class MetricsRegistry {
  private readonly byModel = new Map<string, Map<string, VersionMetrics>>();

  /** The counters of (model, version), created on first use (at load time, not per request). */
  forVersion(model: string, version: string): VersionMetrics {
    let versions = this.byModel.get(model);
    if (!versions) {
      versions = new Map();
      this.byModel.set(model, versions);
    }
    let metrics = versions.get(version);
    if (!metrics) {
      metrics = new VersionMetrics(model, version);
      versions.set(version, metrics);
    }
    return metrics;
  }

  /** All counters, model by model, in creation order. */
  *all(): IterableIterator<VersionMetrics> {
    for (const versions of this.byModel.values()) yield* versions.values();
  }

  /** The JSON snapshot of `GET /admin/v1/metrics`. */
  snapshot(now = new Date()): MetricsSnapshot {
    const models: MetricsSnapshot['models'] = {};
    for (const [model, versions] of this.byModel) {
      const entry: Record<string, VersionMetricsSnapshot> = {};
      for (const [version, metrics] of versions) entry[version] = metrics.snapshot();
      models[model] = entry;
    }
    return { takenAt: now.toISOString(), models };
  }
}
