/** Plain-text rendering for `modelship status`: one row per rollout, then each live verdict. */
import { formatInterval, formatValue, metricLabel } from '../analysis/format.ts';
import type { Verdict } from '../analysis/judge.ts';

export interface StatusRow {
  deployment: string;
  state: string;
  stage: string;
  commit: string;
  traffic: string;
  note: string;
  /** For a completed deployment: whether a worker confirmed that the data plane serves it. */
  served?: boolean;
  verdict?: { stepIndex: number; verdict: Verdict };
  /** How long each analysis step needs, estimated before traffic moved (`estimateLines`). */
  estimates?: string[];
  /** Where the model's monitor stands, once it serves all traffic (`monitorTextLines`). */
  monitor?: string[];
}

/** Columns aligned under a header, two spaces apart; trailing blanks trimmed. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The verdict as the table people asked for: metric, stable, candidate, limit, evidence, verdict. */
export function verdictTable(verdict: Verdict): string {
  return table(
    ['METRIC', 'STABLE', 'CANDIDATE', 'INTERVAL', 'LIMIT', 'EVIDENCE', 'VERDICT'],
    verdict.metrics.map((metric) => [
      metricLabel(metric),
      formatValue(metric.stable, metric.unit),
      formatValue(metric.candidate, metric.unit),
      formatInterval(metric),
      metric.limit,
      metric.evidence ?? '',
      metric.passed === null ? 'not judged' : metric.passed ? 'pass' : 'FAIL',
    ]),
  );
}

export function renderStatus(rows: StatusRow[]): string {
  if (rows.length === 0) return 'no rollouts yet';
  const parts = [
    table(
      ['DEPLOYMENT', 'STATE', 'STAGE', 'COMMIT', 'TRAFFIC', 'NOTE'],
      rows.map((row) => [row.deployment, row.state, row.stage, row.commit, row.traffic, row.note]),
    ),
  ];
  for (const row of rows) {
    if (row.monitor && row.monitor.length > 0) parts.push('', ...row.monitor);
    if (row.estimates && row.estimates.length > 0) {
      parts.push('', `${row.deployment}: step estimates`, ...row.estimates.map((line) => `  ${line}`));
    }
    if (!row.verdict) continue;
    const { stepIndex, verdict } = row.verdict;
    parts.push(
      '',
      `${row.deployment}: step ${stepIndex + 1} ${verdict.outcome}: ${verdict.reason}`,
      verdictTable(verdict),
    );
  }
  return parts.join('\n');
}
