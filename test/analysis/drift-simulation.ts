/**
 * Seeded traffic for the drift tests' tests: a numeric feature drawn from a normal distribution,
 * binned at the quantiles of a reference sample the way `model/profile.ts` bins a holdout.
 */
import { mulberry32 } from '../support/seeded-random.ts';

/** A standard normal draw (Box–Muller, one of the pair). */
export function normal(random: () => number): number {
  const u = Math.max(random(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** The bin of a value: the number of edges at or below it (values equal to an edge go above). */
export function binIndex(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((edges[mid] ?? 0) <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface NumericFeature {
  random: () => number;
  edges: number[];
  /** Reference rows per bin. */
  reference: number[];
  /** Counts per bin of `rows` live values drawn from N(shift, 1). */
  draw: (rows: number, shift?: number) => number[];
}

/** A reference of `rows` N(0, 1) values cut into `bins` quantile bins, and live traffic to go with it. */
export function numericFeature(seed: number, rows: number, bins: number): NumericFeature {
  const random = mulberry32(seed);
  const sample = Array.from({ length: rows }, () => normal(random)).sort((a, b) => a - b);
  const edges: number[] = [];
  for (let k = 1; k < bins; k += 1) edges.push(sample[Math.floor((k * rows) / bins)] ?? 0);
  const reference = new Array<number>(bins).fill(0);
  for (const value of sample) {
    const bin = binIndex(edges, value);
    reference[bin] = (reference[bin] ?? 0) + 1;
  }
  const draw = (count: number, shift = 0) => {
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < count; i += 1) {
      const bin = binIndex(edges, normal(random) + shift);
      counts[bin] = (counts[bin] ?? 0) + 1;
    }
    return counts;
  };
  return { random, edges, reference, draw };
}

/** Binomial(n, p) by counting uniform draws: small n only. */
export function binomial(random: () => number, n: number, p: number): number {
  let hits = 0;
  for (let i = 0; i < n; i += 1) if (random() < p) hits += 1;
  return hits;
}
