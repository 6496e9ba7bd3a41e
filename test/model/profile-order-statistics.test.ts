/** The exact order statistics behind the profile's cut points and quantiles (`model/order-statistics.ts`). */
import { describe, expect, it } from 'vitest';
import { orderStatistics } from '../../model/order-statistics.ts';
import { mulberry32 } from '../support/seeded-random.ts';

const random = mulberry32(1414);

const columns: Record<string, (n: number) => number[]> = {
  uniform: (n) => Array.from({ length: n }, () => random()),
  'one far outlier': (n) => Array.from({ length: n }, (_, i) => (i === 3 ? 1e15 : random())),
  'mostly one value': (n) => Array.from({ length: n }, () => (random() < 0.9 ? 4 : random() * 8)),
  'wide range': (n) => Array.from({ length: n }, () => (random() - 0.5) * 1e308 * 3),
  'negative and tiny': (n) => Array.from({ length: n }, () => -random() * 1e-305),
};

describe('orderStatistics', () => {
  it.each(Object.keys(columns))('agrees with a full sort on a %s column', (name) => {
    for (const n of [1, 2, 17, 4099, 20_000]) {
      const values = Float64Array.from((columns[name] as (n: number) => number[])(n));
      const sorted = values.slice().sort();
      const ranks = [...new Set([0, n - 1, ...Array.from({ length: 12 }, () => Math.floor(random() * n))])];
      const stats = orderStatistics(values, ranks, sorted[0] as number, sorted[n - 1] as number);
      for (const rank of ranks) {
        const value = stats.at(rank);
        expect(value, `${name}, n ${n}, rank ${rank}`).toBe(sorted[rank]);
        expect(stats.below(value), `${name}, n ${n}, below rank ${rank}`).toBe(
          sorted.findIndex((v) => v >= value),
        );
      }
    }
  });

  it('leaves its input as it was and refuses ranks it was not built for', () => {
    const values = Float64Array.from([5, 1, 4, 2, 3]);
    const stats = orderStatistics(values, [2], 1, 5);
    expect([...values]).toEqual([5, 1, 4, 2, 3]);
    expect(stats.at(2)).toBe(3);
    expect(() => orderStatistics(values, [5], 1, 5)).toThrow(RangeError);
  });
});
