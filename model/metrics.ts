/**
 * Offline validation metrics and their thresholds: pure functions, so the numbers a rollout is
 * judged on are unit-testable and do not depend on onnxruntime.
 */
import type { ValidationSpec } from '../specs/schema.ts';

/** Share of positions where prediction equals label. */
export function accuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i += 1) if (labels[i] === predictions[i]) correct += 1;
  return correct / labels.length;
}

/**
 * Unweighted mean of per-class F1 over every class seen in labels or predictions, as
 * scikit-learn's `f1_score(average="macro")` computes it (a class never predicted nor present
 * correctly scores 0), so numbers agree with what data scientists measured in Python.
 */
export function f1Macro(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  const counts = new Map<number, { tp: number; fp: number; fn: number }>();
  const of = (cls: number) => {
    let entry = counts.get(cls);
    if (!entry) {
      entry = { tp: 0, fp: 0, fn: 0 };
      counts.set(cls, entry);
    }
    return entry;
  };
  for (let i = 0; i < labels.length; i += 1) {
    const truth = labels[i] as number;
    const guess = predictions[i] as number;
    if (truth === guess) {
      of(truth).tp += 1;
    } else {
      of(truth).fn += 1;
      of(guess).fp += 1;
    }
  }
  if (counts.size === 0) return 0;
  let sum = 0;
  for (const { tp, fp, fn } of counts.values()) sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  return sum / counts.size;
}

/** Nearest-rank percentile (`p` in 0..100) of ascending-sorted samples: always an observed value. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

const METRIC_NAMES = ['accuracy', 'f1Macro', 'latencyP50', 'latencyP99'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** One measured metric against its threshold from `spec.validation.metrics`. */
export interface MetricResult {
  name: MetricName;
  value: number;
  /** `ratio` for accuracy and F1 (0..1), `ms` for latencies. */
  unit: 'ratio' | 'ms';
  /** Absent when the spec sets no threshold for this metric (it is then reported, not judged). */
  threshold?: { min: number } | { max: number };
  passed: boolean;
}

/** Judges measured values against the spec's thresholds; every metric is reported either way. */
export function judgeMetrics(
  values: Record<MetricName, number>,
  spec: ValidationSpec['metrics'],
): MetricResult[] {
  return METRIC_NAMES.map((name): MetricResult => {
    const value = values[name];
    const unit = name.startsWith('latency') ? 'ms' : 'ratio';
    let threshold: MetricResult['threshold'];
    if (name === 'accuracy' || name === 'f1Macro') {
      const min = spec[name]?.min;
      if (min !== undefined) threshold = { min };
    } else {
      const max = spec[name]?.maxMs;
      if (max !== undefined) threshold = { max };
    }
    if (!threshold) return { name, value, unit, passed: true };
    const passed = 'min' in threshold ? value >= threshold.min : value <= threshold.max;
    return { name, value, unit, threshold, passed };
  });
}

function show(value: number, unit: MetricResult['unit']): string {
  return unit === 'ms' ? `${Number(value.toPrecision(3))}ms` : `${Number(value.toFixed(4))}`;
}

/** `accuracy 0.6222 < min 0.9`, `latencyP99 0.041ms ok (max 5ms)`, `f1Macro 0.95 (no threshold)`. */
export function describeMetric(metric: MetricResult): string {
  const value = `${metric.name} ${show(metric.value, metric.unit)}`;
  const { threshold } = metric;
  if (!threshold) return `${value} (no threshold)`;
  if ('min' in threshold) {
    const bound = show(threshold.min, metric.unit);
    return metric.passed ? `${value} ok (min ${bound})` : `${value} < min ${bound}`;
  }
  const bound = show(threshold.max, metric.unit);
  return metric.passed ? `${value} ok (max ${bound})` : `${value} > max ${bound}`;
}
