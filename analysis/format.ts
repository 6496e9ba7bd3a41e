/**
 * Numbers as verdicts show them to people: fractions to three significant digits, latencies in
 * the spec's duration units. Shared by the judges (for their reasons) and the reports.
 */
import { formatDuration } from '../specs/duration.ts';
import type { MetricVerdict } from './judge.ts';

/** `0.12`, `0.0123`, `0`: three significant digits, trailing zeros dropped. */
export function formatFraction(value: number): string {
  return String(Number(value.toPrecision(3)));
}

/** A metric value in its unit, or `—` when there is none. */
export function formatValue(value: number | null, unit: MetricVerdict['unit']): string {
  if (value === null) return '—';
  return unit === 'ms' ? formatDuration(value) : formatFraction(value);
}

/** The metric's name as reports show it: `disagreement (shadow)` when a method was chosen. */
export function metricLabel(metric: MetricVerdict): string {
  return metric.method ? `${metric.name} (${metric.method})` : metric.name;
}

/**
 * One metric in one phrase: `errorRate 0.12 > 0.01 (candidate 12/100 requests)` for a judged
 * metric, `latencyP99 not judged (…)` otherwise.
 */
export function describeMetric(metric: MetricVerdict): string {
  const evidence = metric.evidence ? ` (${metric.evidence})` : '';
  if (metric.passed === null || !metric.bound) return `${metricLabel(metric)} not judged${evidence}`;
  const holds = metric.passed;
  const op = metric.bound.kind === 'max' ? (holds ? '≤' : '>') : holds ? '≥' : '<';
  const value = formatValue(metric.candidate, metric.unit);
  const bound = formatValue(metric.bound.value, metric.unit);
  return `${metricLabel(metric)} ${value} ${op} ${bound}${evidence}`;
}

/** An interval as reports show it: `ratio 0.41–2.3`, or `—` when there is none. */
export function formatInterval(metric: MetricVerdict): string {
  const interval = metric.interval;
  if (!interval) return '—';
  const end = (value: number) => (Number.isFinite(value) ? Number(value.toPrecision(2)).toString() : '∞');
  return `${interval.of} ${end(interval.lower)}–${end(interval.upper)}`;
}
