/**
 * A verdict as people read it: a short markdown table for the Web UI's current details and the
 * PR-style summaries, and a single line for logs, the audit log and rollback reasons.
 */
import { formatInterval, formatValue, metricLabel } from './format.ts';
import type { MetricVerdict, Verdict } from './judge.ts';

/** `fail: errorRate 0.12 > 0.01 (candidate 12/100 requests, stable 0/900)`. */
export function verdictLine(verdict: Verdict): string {
  return `${verdict.outcome}: ${verdict.reason}`;
}

function verdictCell(metric: MetricVerdict): string {
  if (metric.passed === null) return 'not judged';
  return metric.passed ? 'pass' : '**fail**';
}

/**
 * The verdict's outcome and reason, then one table row per metric:
 * `| metric | stable | candidate | limit | verdict |`.
 */
export function verdictMarkdown(verdict: Verdict): string {
  const lines = [
    `**${verdict.outcome}** (${verdict.judge} judge): ${verdict.reason}`,
    '',
    '| metric | stable | candidate | interval | limit | verdict |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const metric of verdict.metrics) {
    const cells = [
      metricLabel(metric),
      formatValue(metric.stable, metric.unit),
      formatValue(metric.candidate, metric.unit),
      formatInterval(metric),
      metric.limit,
      verdictCell(metric),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
