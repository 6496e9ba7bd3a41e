/** Text renderings of the load generator's progress and summary, for people at a terminal. */
import type { LoadSummary } from './run.ts';
import type { ProgressSnapshot } from './stats.ts';

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** Milliseconds with two significant digits below 1 ms and two decimals above: `0.21ms`, `12.40ms`. */
function formatMs(value: number): string {
  if (value < 1) return `${Number(value.toPrecision(2))}ms`;
  return `${value.toFixed(value < 100 ? 2 : 0)}ms`;
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

/** `load: 12.3s  4,102 req  0 err  p50 0.21ms p99 0.9ms  v1 90.1% v2 9.9%` */
export function formatProgress(progress: ProgressSnapshot): string {
  const shares = Object.entries(progress.intervalShares)
    .map(([version, share]) => `${version} ${percent(share)}`)
    .join(' ');
  return [
    `load: ${progress.elapsedS.toFixed(1)}s`,
    `${count(progress.requests)} req`,
    `${count(progress.errors)} err`,
    `p50 ${formatMs(progress.intervalLatencyMs.p50)} p99 ${formatMs(progress.intervalLatencyMs.p99)}`,
    ...(shares ? [shares] : []),
  ].join('  ');
}

function modeText(summary: LoadSummary): string {
  return summary.mode === 'rate'
    ? `rate ${count(summary.offeredRate ?? 0)}/s (open loop)`
    : `concurrency ${summary.concurrency} (closed loop)`;
}

function rateLine(summary: LoadSummary): string {
  const achieved = `achieved ${summary.achievedRate.toFixed(1)}/s`;
  if (summary.mode !== 'rate') return achieved;
  const offered = summary.offeredRate ?? 0;
  const parts = [
    `offered ${offered.toFixed(1)}/s`,
    `sent ${(summary.sendRate ?? 0).toFixed(1)}/s`,
    achieved,
    `${count(summary.lateSends ?? 0)} late sends (max lag ${formatMs(summary.maxLagMs ?? 0)})`,
  ];
  const shortfall = offered > 0 ? 1 - summary.achievedRate / offered : 0;
  if (shortfall > 0.05) parts.push(`WARNING: ${(shortfall * 100).toFixed(0)}% below the offered rate`);
  return parts.join(', ');
}

function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** The multi-line summary printed when a run ends. */
export function formatSummary(summary: LoadSummary): string {
  const errorDetail = Object.entries(summary.errorsByStatus)
    .map(([status, n]) => `${status} ×${count(n)}`)
    .join(', ');
  const latency = summary.latencyMs;
  const versionRows = Object.entries(summary.versions).map(([name, v]) => [
    name,
    percent(v.share),
    count(v.requests),
    count(v.errors),
    v.accuracy === null ? '-' : `${v.accuracy.toFixed(3)} of ${count(v.scored)}`,
    formatMs(v.latencyMs.p50),
    formatMs(v.latencyMs.p99),
  ]);
  const lines = [
    `modelship load: ${summary.model} at ${summary.url}, ${modeText(summary)}, ${summary.durationS.toFixed(1)}s, stopped by ${summary.stoppedBy}`,
    `  requests  ${count(summary.sent)} sent, ${count(summary.requests)} answered, ${count(summary.ok)} ok, ${count(summary.errors)} errors${errorDetail ? ` (${errorDetail})` : ''}`,
    `  rate      ${rateLine(summary)}`,
    `  latency   p50 ${formatMs(latency.p50)}  p90 ${formatMs(latency.p90)}  p99 ${formatMs(latency.p99)}  max ${formatMs(latency.max)}  (client side)`,
  ];
  if (versionRows.length > 0) {
    lines.push(
      '',
      ...table([
        ['  version', 'share', 'requests', 'errors', 'accuracy', 'p50', 'p99'],
        ...versionRows.map(([n, ...rest]) => [`  ${n}`, ...rest]),
      ]),
    );
  }
  if (summary.firstError !== null) lines.push('', `  first error: ${summary.firstError}`);
  return lines.join('\n');
}
