/** Summing replicas' metrics: counters and histogram buckets add up, the latest start wins. */
import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot, VersionMetricsSnapshot } from '../../serving/api-types.ts';
import { sumMetricSnapshots } from '../../serving/metrics-sum.ts';

function version(requests: number, since: string, buckets: number[]): VersionMetricsSnapshot {
  return {
    countingSince: since,
    requests,
    errors: { inference: 1, non_finite: 0 },
    latency: {
      buckets: buckets.map((count, index) => ({ le: (index + 1) / 1000, count })),
      sum: requests / 1000,
      count: requests,
    },
    predictions: { '0': requests },
    shadow: { compared: 0, agreed: 0, dropped: 0, errors: 0 },
    refused: { bad_request: 2 } as VersionMetricsSnapshot['refused'],
    pinned: {
      requests: 0,
      errors: { inference: 0, non_finite: 0 },
      refused: {} as VersionMetricsSnapshot['refused'],
    },
  };
}

describe('sumMetricSnapshots', () => {
  it('adds every counter per model and version, bucket by bucket, keeping the latest start', () => {
    const a: MetricsSnapshot = {
      takenAt: '2026-12-05T10:00:01.000Z',
      models: { iris: { v1: version(10, '2026-12-05T09:00:00.000Z', [4, 10]) } },
    };
    const b: MetricsSnapshot = {
      takenAt: '2026-12-05T10:00:02.000Z',
      models: {
        iris: {
          v1: version(5, '2026-12-05T09:30:00.000Z', [5, 5]),
          v2: version(3, '2026-12-05T09:45:00.000Z', [3, 3]),
        },
      },
    };
    const sum = sumMetricSnapshots([a, b]);
    expect(sum.takenAt).toBe('2026-12-05T10:00:02.000Z');
    expect(sum.models.iris?.v1).toMatchObject({
      requests: 15,
      countingSince: '2026-12-05T09:30:00.000Z',
      errors: { inference: 2, non_finite: 0 },
      predictions: { '0': 15 },
      refused: { bad_request: 4 },
      latency: {
        buckets: [
          { le: 0.001, count: 9 },
          { le: 0.002, count: 15 },
        ],
        count: 15,
      },
    });
    expect(sum.models.iris?.v2?.requests).toBe(3);
    expect(sumMetricSnapshots([]).models).toEqual({});
  });
});
