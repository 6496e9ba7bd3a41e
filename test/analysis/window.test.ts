/**
 * Windows from two cumulative snapshots: what a version did in between, including across a data
 * plane restart, and latency percentiles from histogram buckets.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { histogramQuantile } from '../../analysis/histogram.ts';
import {
  emptyWindow,
  mergeWindows,
  modelWindows,
  type VersionCounters,
  versionWindow,
} from '../../analysis/window.ts';
import type { VersionMetricsSnapshot } from '../../serving/api-types.ts';
import { VersionMetrics } from '../../serving/metrics.ts';
import { serve, snapshotOf } from './traffic.ts';

describe('versionWindow', () => {
  it("takes the difference of two snapshots: only the window's traffic counts", () => {
    const metrics = serve(new VersionMetrics('iris', 'v2'), {
      requests: 1000,
      errors: 5,
      classes: { 0: 500, 1: 500 },
      shadow: { compared: 300, agreed: 290, dropped: 1, errors: 2 },
    });
    const before = metrics.snapshot();
    serve(metrics, { requests: 200, errors: 3, classes: { 1: 150, 2: 50 } });
    serve(metrics, { requests: 0, errors: 1, errorKind: 'non_finite' });
    serve(metrics, { requests: 0, shadow: { compared: 40, agreed: 38, errors: 1 } });

    const window = versionWindow(before, metrics.snapshot());

    expect(window).toMatchObject({
      requests: 200,
      errors: 4,
      errorsByKind: { inference: 3, non_finite: 1 },
      errorRate: 0.02,
      predictions: { 1: 150, 2: 50 },
      predictionRows: 200,
      shadow: { compared: 40, agreed: 38, dropped: 0, errors: 1 },
      reset: false,
    });
    expect(window.latency.count).toBe(200);
  });

  it('estimates p50 and p99 by interpolating inside the bucket that holds the rank', () => {
    // 90 requests at 2 ms land in (1 ms, 2.5 ms]; 10 at 8 ms in (5 ms, 10 ms].
    const window = versionWindow(
      undefined,
      snapshotOf({ requests: 100, latencyMs: (i) => (i < 90 ? 2 : 8) }),
    );

    // p99: rank 99 is the 9th of the 10 requests in (5, 10] → 5 + 5 × 9/10 = 9.5 ms.
    expect(window.latency.p99?.ms).toBeCloseTo(9.5, 9);
    expect(window.latency.p99?.bucketUpperMs).toBeCloseTo(10, 9);
    // p50: rank 50 is the 50th of 90 in (1, 2.5] → 1 + 1.5 × 50/90 ms.
    expect(window.latency.p50?.ms).toBeCloseTo(1 + (1.5 * 50) / 90, 9);
  });

  it('judges latency of the window only, not of the traffic before it', () => {
    const metrics = serve(new VersionMetrics('iris', 'v2'), { requests: 10_000, latencyMs: 0.02 });
    const before = metrics.snapshot();
    serve(metrics, { requests: 100, latencyMs: 40 });

    const window = versionWindow(before, metrics.snapshot());

    // 40 ms falls in (25 ms, 50 ms]; over all time the p99 would still be in the 25 µs bucket.
    expect(window.latency.p99?.ms).toBeGreaterThan(25);
    expect(window.latency.p99?.ms).toBeLessThanOrEqual(50);
  });

  it('starts from zero and flags reset when counters went down (data plane restart)', () => {
    const before = snapshotOf({ requests: 5000, errors: 10, classes: { 0: 5000 } });
    const after = snapshotOf({ requests: 120, errors: 1, classes: { 0: 120 } });

    const window = versionWindow(before, after);

    expect(window).toMatchObject({ requests: 120, errors: 1, predictions: { 0: 120 }, reset: true });
  });

  it('sees a restart even when requests grew back past the earlier count', () => {
    const before = snapshotOf({ requests: 100, errors: 0, shadow: { compared: 50, agreed: 50 } });
    const after = snapshotOf({ requests: 150, errors: 0 });

    expect(versionWindow(before, after)).toMatchObject({ requests: 150, reset: true });
  });

  it('treats a version loaded between the two reads as new, not as a reset', () => {
    const windows = modelWindows(
      { v1: snapshotOf({ requests: 1000 }) },
      { v1: snapshotOf({ requests: 1300 }), v2: snapshotOf({ requests: 30 }) },
    );

    expect(windows.v1).toMatchObject({ requests: 300, reset: false });
    expect(windows.v2).toMatchObject({ requests: 30, reset: false });
  });

  it('has no rates or percentiles without traffic', () => {
    const window = versionWindow(undefined, snapshotOf({ requests: 0 }));

    expect(window.errorRate).toBeNull();
    expect(window.latency.p99).toBeNull();
  });

  it('accepts the data plane snapshot type as is', () => {
    expectTypeOf<VersionMetricsSnapshot>().toExtend<VersionCounters>();
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.001, count: 10 },
    { le: 0.002, count: 10 },
    { le: 0.004, count: 20 },
  ];

  it('skips empty buckets and interpolates linearly from the lower bound', () => {
    // Rank 15 of 20: 5th of the 10 requests in (2 ms, 4 ms] → 3 ms.
    expect(histogramQuantile(buckets, 20, 0.75)?.seconds).toBeCloseTo(0.003, 12);
    // Rank 5 of 20 in the first bucket, whose lower bound is 0.
    expect(histogramQuantile(buckets, 20, 0.25)?.seconds).toBeCloseTo(0.0005, 12);
  });

  it('reports the last finite bound as a lower bound when the rank is in +Inf', () => {
    expect(histogramQuantile(buckets, 40, 0.99)).toEqual({
      seconds: 0.004,
      bucketUpper: Number.POSITIVE_INFINITY,
      above: true,
    });
  });

  it('gives 10 s and no bucket top for a p99 slower than the last bucket', () => {
    const window = versionWindow(undefined, snapshotOf({ requests: 100, latencyMs: 30_000 }));

    expect(window.latency.p99).toEqual({ ms: 10_000, bucketUpperMs: null });
  });
});

describe('mergeWindows', () => {
  it("adds a step's reads, keeping traffic from before a restart", () => {
    const first = versionWindow(snapshotOf({ requests: 0 }), snapshotOf({ requests: 80, errors: 2 }));
    const acrossRestart = versionWindow(
      snapshotOf({ requests: 80 }),
      snapshotOf({ requests: 30, errors: 1 }),
    );

    const merged = mergeWindows(mergeWindows(emptyWindow(), first), acrossRestart);

    expect(merged).toMatchObject({ requests: 110, errors: 3, reset: true });
    expect(merged.latency.count).toBe(110);
    expect(merged.errorRate).toBeCloseTo(3 / 110, 12);
  });

  it('recomputes percentiles over the merged buckets', () => {
    const fast = versionWindow(undefined, snapshotOf({ requests: 90, latencyMs: 2 }));
    const slow = versionWindow(undefined, snapshotOf({ requests: 10, latencyMs: 8 }));

    expect(mergeWindows(fast, slow).latency.p99?.ms).toBeCloseTo(9.5, 9);
  });
});
