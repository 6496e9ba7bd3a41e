/**
 * Where a model's monitor stands (the `monitorStatus` query, `modelship status`) and the markdown
 * the Web UI shows as its current details: pure functions of what `MonitorModel` knows. Same
 * renderer rules as `details.ts`: no pipe tables, one fact per line joined with `<br>`, plain
 * words first and the numbers after.
 */
import type { Finding, MonitorSummary } from '../analysis/monitor-look.ts';

/** One action a finding set off, and how it went. */
export interface MonitorActionRecord {
  key: string;
  kind: 'alert' | 'retraining' | 'rollback';
  /** 'done' is a rollback carried out; webhooks are 'sent'. */
  outcome: 'sent' | 'done' | 'refused' | 'failed';
  detail: string;
  time: string;
}

export interface MonitorStatus {
  model: string;
  environment: string;
  version: string;
  bundleDigest: string;
  state: 'starting' | 'watching' | 'ended';
  /** Why it ended: the version stopped serving, it was replaced, it was rolled back, or it was stopped. */
  endedBecause?: string;
  /** The version the monitor rolled back to, when live accuracy fell below its floor. */
  rolledBackTo?: string;
  intervalMs: number;
  summary: MonitorSummary | null;
  /** Every finding raised, oldest first (each raised once). */
  findings: Finding[];
  actions: MonitorActionRecord[];
  /** The idempotency key of the retraining request, once one was sent: one per monitored version. */
  retrainingRequested?: string;
  /** Why there is no reference to judge against, when there is none. */
  noReference?: string;
}

const round = (value: number) => Number(value.toPrecision(3));

function checkLines(summary: MonitorSummary): string[] {
  const lines: string[] = [];
  for (const feature of summary.features) {
    lines.push(
      `${feature.drifted ? '⚠️' : '•'} input \`${feature.name}\`: ${feature.drifted ? '**drifted**' : 'no drift found'} (${feature.rows} rows, e-value ${round(feature.eValue)}, PSI ${round(feature.psi)})`,
    );
  }
  if (summary.predictions) {
    const p = summary.predictions;
    lines.push(
      `${p.drifted ? '⚠️' : '•'} predicted classes: ${p.drifted ? '**drifted**' : 'no drift found'} (${p.rows} predictions, e-value ${round(p.eValue)}, PSI ${round(p.psi)})`,
    );
  }
  if (summary.quality) {
    const q = summary.quality;
    lines.push(
      `${q.drifted ? '⚠️' : '•'} data quality: ${q.violations} of ${q.rows} rows broke an input constraint (${round(q.rate * 100)} %)`,
    );
  }
  if (summary.performance) {
    const perf = summary.performance;
    const estimated = perf.estimated
      ? `; estimated ${round(perf.estimated.accuracy * 100)} % from the model's probabilities over ${perf.estimated.rows} rows (an estimate, not a measurement)`
      : '';
    const accuracy =
      (perf.accuracy === null ? 'no labels fed back yet' : `live accuracy ${round(perf.accuracy * 100)} %`) +
      estimated;
    lines.push(
      `${perf.belowFloor ? '⚠️' : '•'} performance: ${accuracy} on ${perf.labelled} labelled rows (floor ${round(perf.floor * 100)} %)`,
    );
  } else {
    lines.push(
      '• performance: no floor set (spec.monitoring.checks.performance or validation.metrics.accuracy)',
    );
  }
  return lines;
}

/** The Web UI details of a monitor. */
export function renderMonitorDetails(status: MonitorStatus): string {
  const where = `${status.model}@${status.environment}`;
  const head =
    status.state === 'ended'
      ? `⏹️ **Monitor ended** for ${where}: ${status.endedBecause ?? 'stopped'}`
      : status.findings.length > 0
        ? `⚠️ **${status.findings.length} finding(s)** on ${where}, version \`${status.version}\``
        : `👀 **Watching** ${where}, version \`${status.version}\`: nothing found so far`;
  const lines = [head];
  const every = `every ${round(status.intervalMs / 1000)} s`;
  if (status.noReference) {
    lines.push(`No drift tests: ${status.noReference}.`);
  } else if (!status.summary) {
    lines.push(`The first look comes after one interval (${every}).`);
  } else {
    lines.push(
      `${status.summary.looks} look(s) ${every} since ${status.summary.windowStart}; ${status.summary.rows} live rows counted.`,
    );
    lines.push(...checkLines(status.summary));
  }
  if (status.findings.length > 0) {
    lines.push('**Findings**');
    for (const finding of status.findings) lines.push(`- ${finding.summary}`);
  }
  if (status.actions.length > 0) {
    lines.push('**Actions**');
    for (const action of status.actions) lines.push(`- ${action.kind} (${action.outcome}): ${action.detail}`);
  }
  lines.push(
    `Bundle \`${status.bundleDigest.slice(0, 12)}\`. Query \`monitorStatus\` for the numbers as JSON.`,
  );
  return lines.join('<br>');
}

/** Plain-text lines for `modelship status`: where the monitor stands, then each finding. */
export function monitorTextLines(status: MonitorStatus): string[] {
  const where = `${status.model}@${status.environment}`;
  const head = `${where}: monitor of version ${status.version}`;
  if (status.state === 'ended') return [`${head} ended: ${status.endedBecause ?? 'stopped'}`];
  if (status.noReference) return [`${head}: no drift tests, ${status.noReference}`];
  if (!status.summary) return [`${head}: first look after ${round(status.intervalMs / 1000)} s`];
  const found = status.findings.length === 0 ? 'nothing found' : `${status.findings.length} finding(s)`;
  return [
    `${head}: ${status.summary.looks} look(s), ${status.summary.rows} live rows, ${found}`,
    ...status.findings.map((finding) => `  ${finding.check}: ${finding.summary}`),
    ...status.actions.map((action) => `  ${action.kind} ${action.outcome}: ${action.detail}`),
  ];
}
