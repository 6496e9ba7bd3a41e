/**
 * The drift benchmark's small statistics: seeded random numbers, the two-sample
 * Kolmogorov–Smirnov test of the baseline, and the summaries of the results (Wilson intervals,
 * quantiles with misses counted as never).
 */
import { mulberry32 } from '../../test/support/seeded-random.ts';

/** A seed for one (scenario, run), mixed so that neighbouring runs share nothing. */
export function seedOf(seed: number, scenario: number, run: number): number {
  let h = (seed ^ 0x2545f491) >>> 0;
  for (const value of [scenario, run]) {
    h = Math.imul(h ^ value, 0x9e3779b1) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77) >>> 0;
    h ^= h >>> 13;
  }
  return h;
}

/** Seeded uniform and standard normal draws (Box–Muller, both halves of each pair used). */
export function randomSource(seed: number): { uniform: () => number; normal: () => number } {
  const uniform = mulberry32(seed);
  let spare: number | undefined;
  const normal = () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-300)));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  return { uniform, normal };
}

/**
 * The two-sample Kolmogorov–Smirnov test on sorted samples: the statistic D and its asymptotic
 * p-value, Q_KS((√n_e + 0.12 + 0.11/√n_e) D) with n_e = n m / (n + m) (Stephens' correction, as
 * in Numerical Recipes and in common libraries for large samples).
 */
export function ksTwoSample(a: Float64Array, b: Float64Array): { d: number; p: number } {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i] as number, b[j] as number);
    while (i < a.length && (a[i] as number) <= x) i += 1;
    while (j < b.length && (b[j] as number) <= x) j += 1;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  const en = Math.sqrt((a.length * b.length) / (a.length + b.length));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  let p = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k += 1) {
    const term = sign * 2 * Math.exp(-2 * k * k * lambda * lambda);
    p += term;
    if (Math.abs(term) < 1e-12) break;
    sign = -sign;
  }
  return { d, p: Math.min(1, Math.max(0, lambda < 0.2 ? 1 : p)) };
}

/** The Wilson score interval (95 %) for k successes in n trials. */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** The q quantile (nearest rank) of the values, `Infinity` standing for a miss; null when it falls on a miss or there are none. */
export function quantileOrNull(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return value === undefined || !Number.isFinite(value) ? null : value;
}
