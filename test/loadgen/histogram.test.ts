import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../serving/loadgen/histogram.ts';

/** The nearest-rank percentile of raw samples: what the histogram approximates. */
function exactPercentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] ?? 0;
}

describe('LatencyHistogram', () => {
  it('reads nothing from an empty histogram', () => {
    const histogram = new LatencyHistogram();
    expect([histogram.count, histogram.percentileNs(50), histogram.maxNs, histogram.meanNs]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('is exact for values below 256 ns', () => {
    const histogram = new LatencyHistogram();
    for (let ns = 1; ns <= 200; ns += 1) histogram.record(ns);
    expect(histogram.percentileNs(50)).toBe(100);
    expect(histogram.percentileNs(90)).toBe(180);
    expect(histogram.percentileNs(99)).toBe(198);
    expect(histogram.percentileNs(100)).toBe(200);
    expect(histogram.percentileNs(0)).toBe(1);
  });

  it('gives nearest-rank percentiles of 1..100 ms within 0.4 %, with an exact max', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 100; ms += 1) histogram.record(ms * 1e6);
    for (const [p, want] of [
      [50, 50e6],
      [90, 90e6],
      [99, 99e6],
    ] as const) {
      expect(Math.abs(histogram.percentileNs(p) - want) / want).toBeLessThanOrEqual(1 / 256);
    }
    expect(histogram.maxNs).toBe(100e6);
    expect(histogram.percentileNs(100)).toBe(100e6);
    expect(histogram.meanNs).toBe(50.5e6);
  });

  it('stays within 0.4 % of the exact percentile on skewed random latencies', () => {
    const histogram = new LatencyHistogram();
    const samples: number[] = [];
    let seed = 42;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 20_000; i += 1) {
      // Log-uniform from 10 µs to 10 s: every bucket size the histogram has in practice.
      const ns = Math.round(10_000 * 10 ** (6 * random()));
      samples.push(ns);
      histogram.record(ns);
    }
    for (const p of [1, 10, 50, 90, 99, 99.9]) {
      const exact = exactPercentile(samples, p);
      expect(Math.abs(histogram.percentileNs(p) - exact) / exact, `p${p}`).toBeLessThanOrEqual(1 / 256);
    }
    expect(histogram.maxNs).toBe(Math.max(...samples));
  });

  it('handles values past 2^32 ns and clamps nonsense to 0', () => {
    const histogram = new LatencyHistogram();
    histogram.record(3 * 2 ** 32);
    histogram.record(-5);
    histogram.record(Number.NaN);
    expect(histogram.count).toBe(3);
    expect(histogram.percentileNs(50)).toBe(0);
    expect(Math.abs(histogram.percentileNs(100) - 3 * 2 ** 32) / (3 * 2 ** 32)).toBeLessThanOrEqual(1 / 256);
  });

  it('merges: the merged percentiles are those of all samples together', () => {
    const fast = new LatencyHistogram();
    const slow = new LatencyHistogram();
    for (let i = 0; i < 90; i += 1) fast.record(1_000);
    for (let i = 0; i < 10; i += 1) slow.record(1_000_000);
    fast.merge(slow);
    expect(fast.count).toBe(100);
    expect(fast.percentileNs(90)).toBeCloseTo(1_000, -1);
    expect(Math.abs(fast.percentileNs(91) - 1e6) / 1e6).toBeLessThanOrEqual(1 / 256);
    expect(fast.maxNs).toBe(1_000_000);
  });
});
