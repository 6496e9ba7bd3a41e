/**
 * `modelship history` as a person reads it: one row per period, newest first, then a few lines
 * per period with what the row has no room for (commit, bundle, the traffic steps, reasons,
 * approvals). Pure; the JSON form is the document itself (`audit/history-document.ts`).
 */
import { formatTime } from '../audit/format.ts';
import type { ApprovalEntry, ServingHistory, ServingPeriod } from '../audit/history-document.ts';
import { table } from './status-table.ts';

const HEADER = ['VERSION', 'ROLE', 'FROM', 'TO', 'SHARE', 'CAME IN', 'ENDED', 'APPROVED BY'];

const BEGAN: Record<ServingPeriod['began'], string> = {
  'first-version': 'first version',
  direct: 'deployed directly',
  promoted: 'promoted',
  restored: 'restored',
  canary: 'canary',
};

/** The table and the details under it. */
export function formatHistory(history: ServingHistory): string {
  const where = `${history.model}@${history.environment}`;
  const since = history.since === null ? '' : ` since ${formatTime(history.since)}`;
  const title = `${where}: what served when${since}, newest first (audit log ${history.auditLog})`;
  const rows = history.periods.map((period) => [
    period.version,
    period.role,
    formatTime(period.from),
    period.to === null ? 'serving' : formatTime(period.to),
    shareCell(period),
    BEGAN[period.began],
    endedCell(period),
    approvedCell(period.rollout?.approvals ?? []),
  ]);
  const details = history.periods.flatMap(detailLines);
  return [title, '', table(HEADER, rows), '', ...details].join('\n');
}

/** Its largest share, or while it serves the share it has now (and the largest, if that was more). */
function shareCell(period: ServingPeriod): string {
  if (period.maxShare === null) return '?';
  const now = period.traffic.at(-1)?.share;
  const max = period.role === 'stable' ? `${period.maxShare}%` : `max ${period.maxShare}%`;
  if (period.to !== null || now === undefined || now === null) return max;
  if (now === period.maxShare) return period.role === 'stable' ? max : `${now}% now`;
  return period.role === 'stable' ? `${now}% now` : `${now}% now, ${max}`;
}

function endedCell(period: ServingPeriod): string {
  const ended = period.ended;
  if (ended === null) return period.role === 'canary' ? 'rollout running' : '-';
  switch (ended.how) {
    case 'promotion':
      return `promotion of ${ended.by ?? '?'}`;
    case 'replaced':
      return `replaced by ${ended.by ?? '?'}`;
    case 'canary-rollback':
      return 'rolled back in its canary';
    case 'monitor-rollback':
      return `monitor rolled back to ${ended.by ?? '?'}`;
    case 'retired':
      return 'retired';
    case 'unknown':
      return 'run ended, outcome not recorded';
  }
}

function approvedCell(approvals: readonly ApprovalEntry[]): string {
  if (approvals.length === 0) return '-';
  return approvals.map(approvalText).join('; ');
}

function approvalText(approval: ApprovalEntry): string {
  if (approval.decision === 'timed-out') return 'timed out';
  const who = `${approval.approver ?? '?'} (${approval.method ?? '?'})`;
  return approval.decision === 'approved' ? who : `rejected by ${who}`;
}

/** The same with its verb, for the detail lines. */
function approvalSentence(approval: ApprovalEntry): string {
  return approval.decision === 'approved' ? `approved by ${approvalText(approval)}` : approvalText(approval);
}

function detailLines(period: ServingPeriod): string[] {
  const rollout = period.rollout;
  const facts = [
    period.commit === null ? undefined : `commit ${period.commit.slice(0, 12)}`,
    period.bundleDigest === null ? undefined : `bundle ${period.bundleDigest}`,
    rollout === null
      ? undefined
      : `run ${rollout.runId}: ${rollout.outcome}${rollout.startedBy ? `, started by ${rollout.startedBy}` : ''}`,
  ].filter((fact) => fact !== undefined);
  const lines = [`${period.version}  ${facts.join(', ')}`];
  if (period.traffic.length > 0) {
    const steps = period.traffic.map(
      (change) => `${formatTime(change.at)} ${change.share === null ? '?' : `${change.share}%`}`,
    );
    lines.push(`  traffic   ${steps.join(' → ')}`);
  }
  for (const approval of rollout?.approvals ?? []) {
    const step = approval.step === null ? '' : `step ${approval.step} `;
    const proof = approval.proofFingerprint ? `, proof ${approval.proofFingerprint}` : '';
    const issuer = approval.issuer ? `, issuer ${approval.issuer}` : '';
    const comment = approval.comment ? `: "${approval.comment}"` : '';
    lines.push(
      `  approval  ${step}${approvalSentence(approval)}${issuer}${proof} at ${formatTime(approval.at)}${comment}`,
    );
  }
  if (period.ended !== null) {
    const reason = period.ended.reason ? `: ${period.ended.reason}` : '';
    lines.push(`  ended     ${endedCell(period)} at ${formatTime(period.ended.at)}${reason}`);
  }
  return lines;
}
