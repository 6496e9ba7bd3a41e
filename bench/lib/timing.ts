/** Summaries of measured times, the same shape in every section of `results/engine.json`. */
import { median } from './machine.ts';

/** Tenths of a millisecond are as precise as any figure here is. */
export const round = (ms: number) => Math.round(ms * 10) / 10;

/** The nearest-rank percentile of an ascending list. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

export function summary(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: round(median(sorted)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1) ?? Number.NaN),
  };
}
