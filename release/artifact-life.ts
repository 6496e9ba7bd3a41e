/**
 * What the audit log says of one model artifact (its pinned sha256) in one environment: when it
 * started serving all traffic there, what the run that brought it in judged and who approved it,
 * what its monitor found, and how it stopped (replaced, rolled back, retired). Pure: a fold over
 * audit records, shared by the promotion gate (`promotion.ts`), quarantine (`quarantine.ts`) and
 * the commands that show them.
 *
 * The artifact is named by `spec.model.sha256`, not by the bundle digest: a bundle also covers
 * the spec text and the commit, so the same model is a different bundle in every environment.
 * The decisions DeployModel and MonitorModel record carry `artifactSha256` since promotion
 * between environments exists; older records do not, and count for nothing here.
 */
import type { AuditRecord } from '../audit/record.ts';

/** The fields of an audit record a fold reads (what `AuditStore.list` returns). */
export type LifeRecord = Pick<
  AuditRecord,
  'seq' | 'time' | 'model' | 'environment' | 'commit' | 'workflowId' | 'runId' | 'step' | 'actor' | 'details'
>;

/** A verdict of an analysis or shadow step of the run that brought the artifact in. */
export interface StepVerdict {
  step: string;
  outcome: string;
  summary?: string;
  at: string;
}

export interface Approval {
  approver: string;
  /** How the approver proved who they are; absent for an unsigned approval the policy allowed. */
  proof?: string;
  at: string;
}

export interface MonitorFindingSeen {
  key: string;
  summary: string;
  at: string;
}

/** One stretch during which the artifact served all traffic of the model in the environment. */
export interface ServingPeriod {
  environment: string;
  version: string;
  bundleDigest?: string;
  commit: string;
  /** `promoted` after a rollout, `serving` as the model's first version there. */
  outcome: 'promoted' | 'serving';
  since: string;
  /** When it stopped serving; absent while it still serves. */
  until?: string;
  endedBy?: 'replaced' | 'rolled-back' | 'retired';
  /** Why it was rolled back, when it was. */
  rollbackReason?: string;
  run: { workflowId: string; runId: string };
  verdicts: StepVerdict[];
  approvals: Approval[];
  findings: MonitorFindingSeen[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Every period the artifact served all traffic in `environment`, oldest first, from records of
 * one model in seq order (records of other models and environments are ignored).
 */
export function servingPeriods(
  records: readonly LifeRecord[],
  input: { model: string; environment: string; artifactSha256: string },
): ServingPeriod[] {
  const mine = records.filter((r) => r.model === input.model && r.environment === input.environment);
  const periods: ServingPeriod[] = [];
  let current: ServingPeriod | undefined;
  const close = (at: string, endedBy: NonNullable<ServingPeriod['endedBy']>, reason?: string) => {
    if (!current) return;
    current.until = at;
    current.endedBy = endedBy;
    if (reason) current.rollbackReason = reason;
    current = undefined;
  };
  for (const record of mine) {
    const details = record.details ?? {};
    const step = record.step;
    if (step === 'deployment.promoted' || step === 'deployment.serving') {
      const version = text(details.version) ?? '';
      if (current && current.version !== version) close(record.time, 'replaced');
      if (text(details.artifactSha256) !== input.artifactSha256) continue;
      if (current?.version === version) continue;
      current = {
        environment: record.environment,
        version,
        ...(text(details.bundleDigest) ? { bundleDigest: text(details.bundleDigest) as string } : {}),
        commit: record.commit,
        outcome: step === 'deployment.promoted' ? 'promoted' : 'serving',
        since: record.time,
        run: { workflowId: record.workflowId, runId: record.runId },
        verdicts: verdictsOf(mine, record.runId),
        approvals: approvalsOf(mine, record.runId),
        findings: [],
      };
      periods.push(current);
    } else if (step === 'monitor.rolled-back' && current && text(details.version) === current.version) {
      close(record.time, 'rolled-back', text(details.reason));
    } else if (step === 'deployment.retired' && current) {
      close(record.time, 'retired');
    } else if (step === 'monitor.finding' && current && text(details.version) === current.version) {
      current.findings.push({
        key: text(details.key) ?? 'finding',
        summary: text(details.summary) ?? '',
        at: record.time,
      });
    }
  }
  return periods;
}

function verdictsOf(records: readonly LifeRecord[], runId: string): StepVerdict[] {
  return records
    .filter((r) => r.runId === runId && /^(analysis|shadow)\.[a-z-]+$/.test(r.step))
    .map((r) => {
      const [step = '', outcome = ''] = r.step.split('.');
      const summary = text(r.details?.summary);
      return { step, outcome, ...(summary ? { summary } : {}), at: r.time };
    });
}

function approvalsOf(records: readonly LifeRecord[], runId: string): Approval[] {
  return records
    .filter((r) => r.runId === runId && r.step === 'approval.approved')
    .map((r) => {
      const proof = text(r.details?.proof);
      return { approver: r.actor, ...(proof ? { proof } : {}), at: r.time };
    });
}
