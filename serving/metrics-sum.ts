/**
 * The metrics of several replicas of one environment as one snapshot: every counter summed per
 * model and version, latency histograms summed bucket by bucket (all replicas use the same
 * bucket bounds, `metrics.ts`), and `countingSince` the latest of the replicas' starts, so that a
 * rate computed from one snapshot never spreads counts over time a restarted replica did not
 * count. A replica that restarts starts its counters from zero again, so a sum can fall between
 * two reads: readers that take differences must treat a fall as a reset (the window starts over).
 */
import type { MetricsSnapshot, VersionMetricsSnapshot } from './api-types.ts';

type Numbers = { [key: string]: number | Numbers };

/** Adds `b` into a copy of `a`: numbers summed, nested records merged by key. */
function addRecords(a: Numbers, b: Numbers): Numbers {
  const out: Numbers = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    if (typeof value === 'number') out[key] = (typeof mine === 'number' ? mine : 0) + value;
    else out[key] = addRecords(typeof mine === 'object' ? mine : {}, value);
  }
  return out;
}

function addVersion(a: VersionMetricsSnapshot, b: VersionMetricsSnapshot): VersionMetricsSnapshot {
  const buckets = new Map<number, number>();
  for (const bucket of [...a.latency.buckets, ...b.latency.buckets])
    buckets.set(bucket.le, (buckets.get(bucket.le) ?? 0) + bucket.count);
  const { latency: _a, countingSince: sinceA, ...restA } = a;
  const { latency: _b, countingSince: sinceB, ...restB } = b;
  const summed = addRecords(restA as unknown as Numbers, restB as unknown as Numbers) as unknown as Omit<
    VersionMetricsSnapshot,
    'latency' | 'countingSince'
  >;
  return {
    ...summed,
    countingSince: Date.parse(sinceA) >= Date.parse(sinceB) ? sinceA : sinceB,
    latency: {
      buckets: [...buckets.entries()].sort(([x], [y]) => x - y).map(([le, count]) => ({ le, count })),
      sum: a.latency.sum + b.latency.sum,
      count: a.latency.count + b.latency.count,
    },
  };
}

/** One snapshot of every replica's; `takenAt` is the latest of theirs. Empty input: no models. */
export function sumMetricSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const models: MetricsSnapshot['models'] = {};
  let takenAt = new Date(0).toISOString();
  for (const snapshot of snapshots) {
    if (Date.parse(snapshot.takenAt) > Date.parse(takenAt)) takenAt = snapshot.takenAt;
    for (const [model, versions] of Object.entries(snapshot.models)) {
      const into = models[model] ?? {};
      models[model] = into;
      for (const [version, counters] of Object.entries(versions)) {
        const mine = into[version];
        into[version] = mine === undefined ? counters : addVersion(mine, counters);
      }
    }
  }
  return { takenAt, models };
}
