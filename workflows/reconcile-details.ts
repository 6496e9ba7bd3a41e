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
