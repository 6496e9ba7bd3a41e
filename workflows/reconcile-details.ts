/** The Web UI's current details of a Reconcile run: a pure function of its report. */
import { type ReconcileReport, repairOf } from '../domain/reconcile.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderReconcileDetails(report: ReconcileReport): string {
  const at = report.commit ? ` at ${report.commit.slice(0, 12)}` : '';
  const lines = [
    `**Reconcile ${report.environment}${at}**: ${report.remaining.length === 0 ? 'no drift left' : `${report.remaining.length} drift finding(s) left`}, desired generation ${report.generation}`,
    '',
    `Replicas: ${report.convergence.message}`,
  ];
  if (report.findings.length > 0) {
    lines.push('', '| layer | kind | model | finding | repaired |', '| --- | --- | --- | --- | --- |');
    for (const finding of report.findings) {
      const repair = repairOf(report, finding);
      const repaired = repair ? (repair.done ? 'yes' : `no: ${repair.detail}`) : '';
      lines.push(
        `| ${finding.layer} | ${finding.kind} | ${finding.model ?? ''} | ${cell(finding.message)} | ${cell(repaired)} |`,
      );
    }
  }
  if (report.applied) {
    lines.push(
      '',
      `Git drift applied (policy \`reconcile.gitDrift: apply\`): started ${report.applied.started.join(', ') || 'nothing'}`,
    );
  } else if (report.findings.some((f) => f.layer === 'git')) {
    lines.push('', 'Git drift is reported only (policy `reconcile.gitDrift: report`).');
  }
  return lines.join('\n');
}

/** At most this many findings, and as many repairs, are listed in the audit record; the rest are counted. */
const AUDITED_ITEMS = 15;
const AUDITED_MESSAGE_CHARS = 240;
const cut = (text: string) =>
  text.length > AUDITED_MESSAGE_CHARS ? `${text.slice(0, AUDITED_MESSAGE_CHARS - 1)}…` : text;

/**
 * The details of a pass's audit record, bounded whatever the environment's size: an audit record
 * has a size limit, and a decision that can never be written would hold the pass forever. Counts
 * by kind cover everything; the first findings and repairs are listed with their messages.
 */
export function reconcileAuditDetails(report: ReconcileReport): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const finding of report.findings) counts[finding.kind] = (counts[finding.kind] ?? 0) + 1;
  return {
    counts,
    findings: report.findings.slice(0, AUDITED_ITEMS).map(({ kind, layer, model, message }) => ({
      kind,
      layer,
      ...(model ? { model } : {}),
      message: cut(message),
    })),
    repaired: report.repairs.filter((r) => r.done).length,
    repairs: report.repairs
      .slice(0, AUDITED_ITEMS)
      .map(({ repair, done, detail }) => ({ ...repair, done, detail: cut(detail) })),
    ...(report.applied
      ? { applied: report.applied.started.slice(0, AUDITED_ITEMS), applyExitCode: report.applied.exitCode }
      : {}),
    remaining: report.remaining.length,
    generation: report.generation,
  };
}
