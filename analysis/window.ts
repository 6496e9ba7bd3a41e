/**
 * What one version did between two reads of the data plane's cumulative counters: the window the
 * judges look at.
 *
 * The data plane only ever adds to its counters, so a window is the difference of two snapshots.
 * The one exception is a restart of the data plane, which starts every counter again from zero:
 * any counter that went down means the earlier snapshot no longer applies, and the window is
 * taken from zero instead (flagged `reset`, so a report can say that traffic before the restart
 * is missing from it).
 *
 * The input types are minimal on purpose: `VersionMetricsSnapshot` from `serving/api-types.ts`
 * fits them, but this folder stays free of the data plane's code.
 */
import { type Bucket, histogramQuantile, sameLayout } from './histogram.ts';

/** Cumulative counters of one version, as the data plane reports them (`VersionMetricsSnapshot`). */
export interface VersionCounters {
  /** Routed requests that reached the model, errors included (refused and pinned ones are not here). */
  readonly requests: number;
  /** The model's failures among them by kind (`inference`, `non_finite`). */
  readonly errors: Readonly<Record<string, number>>;
  /** Cumulative buckets in seconds; `count` includes the `+Inf` bucket. */
  readonly latency: { readonly buckets: readonly Bucket[]; readonly sum: number; readonly count: number };
  /** Predicted class → rows predicted. */
  readonly predictions: Readonly<Record<string, number>>;
  /** This version as a shadow: rows compared with stable and rows that agreed; requests dropped or failed. */
  readonly shadow: {
    readonly compared: number;
    readonly agreed: number;
    readonly dropped: number;
    readonly errors: number;
  };
}

/** A latency quantile estimated from the window's histogram (see `histogram.ts` for how). */
interface LatencyQuantile {
  ms: number;
  /** Upper bound of the bucket the quantile fell in, or null for the overflow bucket. */
  bucketUpperMs: number | null;
}

/** One version's traffic in a window. Plain data (JSON-safe), so it can sit in heartbeat details. */
export interface VersionWindow {
  requests: number;
  /** Failed requests, all kinds together. */
  errors: number;
  errorsByKind: Record<string, number>;
  /** errors / requests; null without requests. */
  errorRate: number | null;
  latency: {
    /** Requests that reached the model (bad requests are refused before it). */
    count: number;
    sumSeconds: number;
    /** Cumulative within the window, seconds, as the data plane's buckets. */
    buckets: Bucket[];
    /** Interpolated within a bucket; null without latency observations. */
    p50: LatencyQuantile | null;
    p99: LatencyQuantile | null;
  };
  /** Predicted class → rows. */
  predictions: Record<string, number>;
  predictionRows: number;
  shadow: { compared: number; agreed: number; dropped: number; errors: number };
  /** A counter went down during the window (data plane restart): only traffic since then is in it. */
  reset: boolean;
}

const ZERO: VersionCounters = {
  requests: 0,
  errors: {},
  latency: { buckets: [], sum: 0, count: 0 },
  predictions: {},
  shadow: { compared: 0, agreed: 0, dropped: 0, errors: 0 },
};

/** A window in which nothing happened: the start of an accumulation. */
export function emptyWindow(): VersionWindow {
  return finish(ZERO, false);
}

/**
 * The window between two snapshots of one version. `before` is undefined when the version did
 * not exist yet at the first read (it was loaded in between): the window then starts from zero
 * without being a reset.
 */
export function versionWindow(before: VersionCounters | undefined, after: VersionCounters): VersionWindow {
  if (!before) return finish(after, false);
  if (wentDown(before, after)) return finish(after, true);
  return finish(subtract(after, before), false);
}

/**
 * Windows for every version present in the later snapshot of a model. A version missing from the
 * later snapshot has no window: it was unloaded, or the data plane restarted without it.
 */
export function modelWindows(
  before: Readonly<Record<string, VersionCounters>>,
  after: Readonly<Record<string, VersionCounters>>,
): Record<string, VersionWindow> {
  const windows: Record<string, VersionWindow> = {};
  for (const [version, counters] of Object.entries(after)) {
    windows[version] = versionWindow(before[version], counters);
  }
  return windows;
}

/**
 * Two consecutive windows as one. Summing short windows (one per read) keeps a step's traffic
 * across a data plane restart: only the reads spanning the restart lose what came before it.
 */
export function mergeWindows(earlier: VersionWindow, later: VersionWindow): VersionWindow {
  const { latency, lost } = addLatency(earlier.latency, later.latency);
  return finish(
    {
      requests: earlier.requests + later.requests,
      errors: addRecords(earlier.errorsByKind, later.errorsByKind, 1),
      latency,
      predictions: addRecords(earlier.predictions, later.predictions, 1),
      shadow: {
        compared: earlier.shadow.compared + later.shadow.compared,
        agreed: earlier.shadow.agreed + later.shadow.agreed,
        dropped: earlier.shadow.dropped + later.shadow.dropped,
        errors: earlier.shadow.errors + later.shadow.errors,
      },
    },
    earlier.reset || later.reset || lost,
  );
}

/**
 * The latency of two windows added. Bucket bounds only change across a restart into a different
 * server build; the later layout is the one still counting, so the earlier counts are dropped
 * (`lost`) rather than added to the wrong buckets.
 */
function addLatency(
  earlier: VersionWindow['latency'],
  later: VersionWindow['latency'],
): { latency: VersionCounters['latency']; lost: boolean } {
  const plain = (window: VersionWindow['latency']) => ({
    buckets: window.buckets,
    sum: window.sumSeconds,
    count: window.count,
  });
  if (earlier.buckets.length === 0) return { latency: plain(later), lost: false };
  if (later.buckets.length === 0) return { latency: plain(earlier), lost: false };
  if (!sameLayout(earlier.buckets, later.buckets)) return { latency: plain(later), lost: earlier.count > 0 };
  return {
    latency: {
      buckets: later.buckets.map((bucket, index) => ({
        le: bucket.le,
        count: bucket.count + (earlier.buckets[index]?.count ?? 0),
      })),
      sum: earlier.sumSeconds + later.sumSeconds,
      count: earlier.count + later.count,
    },
    lost: false,
  };
}

/** Whether any counter is lower in `after`: the data plane restarted between the two reads. */
function wentDown(before: VersionCounters, after: VersionCounters): boolean {
  const below = (a: number, b: number | undefined) => (b ?? 0) < a;
  const recordWentDown = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
    Object.entries(a).some(([key, value]) => below(value, b[key]));
  return (
    below(before.requests, after.requests) ||
    below(before.latency.count, after.latency.count) ||
    !sameLayout(before.latency.buckets, after.latency.buckets) ||
    before.latency.buckets.some((bucket, index) =>
      below(bucket.count, after.latency.buckets[index]?.count),
    ) ||
    recordWentDown(before.errors, after.errors) ||
    recordWentDown(before.predictions, after.predictions) ||
    below(before.shadow.compared, after.shadow.compared) ||
    below(before.shadow.agreed, after.shadow.agreed) ||
    below(before.shadow.dropped, after.shadow.dropped) ||
    below(before.shadow.errors, after.shadow.errors)
  );
}

function subtract(after: VersionCounters, before: VersionCounters): VersionCounters {
  return {
    requests: after.requests - before.requests,
    errors: addRecords(after.errors, before.errors, -1),
    latency: {
      buckets: after.latency.buckets.map((bucket, index) => ({
        le: bucket.le,
        count: bucket.count - (before.latency.buckets[index]?.count ?? 0),
      })),
      sum: after.latency.sum - before.latency.sum,
      count: after.latency.count - before.latency.count,
    },
    predictions: addRecords(after.predictions, before.predictions, -1),
    shadow: {
      compared: after.shadow.compared - before.shadow.compared,
      agreed: after.shadow.agreed - before.shadow.agreed,
      dropped: after.shadow.dropped - before.shadow.dropped,
      errors: after.shadow.errors - before.shadow.errors,
    },
  };
}

/** `a + sign × b` key by key; keys that end at zero are left out, as the data plane leaves them out. */
function addRecords(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
  sign: 1 | -1,
): Record<string, number> {
  const result: Record<string, number> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const value = (a[key] ?? 0) + sign * (b[key] ?? 0);
    if (value !== 0) result[key] = value;
  }
  return result;
}

function quantile(latency: VersionCounters['latency'], q: number): LatencyQuantile | null {
  const estimate = histogramQuantile(latency.buckets, latency.count, q);
  if (!estimate) return null;
  return {
    ms: estimate.seconds * 1000,
    bucketUpperMs: estimate.above ? null : estimate.bucketUpper * 1000,
  };
}

function finish(counters: VersionCounters, reset: boolean): VersionWindow {
  const errorsByKind = addRecords(counters.errors, {}, 1);
  const errors = Object.values(errorsByKind).reduce((sum, count) => sum + count, 0);
  const predictions = addRecords(counters.predictions, {}, 1);
  return {
    requests: counters.requests,
    errors,
    errorsByKind,
    errorRate: counters.requests > 0 ? errors / counters.requests : null,
    latency: {
      count: counters.latency.count,
      sumSeconds: counters.latency.sum,
      buckets: counters.latency.buckets.map(({ le, count }) => ({ le, count })),
      p50: quantile(counters.latency, 0.5),
      p99: quantile(counters.latency, 0.99),
    },
    predictions,
    predictionRows: Object.values(predictions).reduce((sum, count) => sum + count, 0),
    shadow: { ...counters.shadow },
    reset,
  };
}
