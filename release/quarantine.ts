/**
 * Quarantine: a model artifact that was rolled back automatically, because a canary verdict
 * judged it worse than stable or its monitor found its live accuracy below the floor, may not be
 * deployed again for that model, in any environment, until someone lifts the quarantine with a
 * reason (`modelship quarantine lift`, recorded in the audit log as `quarantine.lifted`). A
 * rollback for any other cause (a cancelled or superseded run, a rejected or timed-out approval,
 * a data plane that refused a step) says nothing against the model and quarantines nothing.
 *
 * Pure: a fold over the model's audit records in seq order. `apply` and reconcile start runs
 * whose DeployModel refuses a quarantined artifact (`checkRelease`); `promote` and `plan` ask
 * before.
 */
import type { LifeRecord } from './artifact-life.ts';

/** The audit decision that lifts a quarantine; its details name the artifact and the reason. */
export const QUARANTINE_LIFTED = 'quarantine.lifted';

export interface Quarantine {
  model: string;
  artifactSha256: string;
  /** Where and when it was rolled back, and by what. */
  environment: string;
  at: string;
  by: 'canary' | 'monitor';
  reason: string;
  run: { workflowId: string; runId: string };
}

export interface LiftedQuarantine extends Quarantine {
  lifted: { by: string; at: string; reason: string };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The rollback a record is, when it quarantines its artifact. */
function quarantineIn(record: LifeRecord): Quarantine | undefined {
  const details = record.details ?? {};
  const artifactSha256 = text(details.artifactSha256);
  if (!artifactSha256) return undefined;
  const base = {
    model: record.model,
    artifactSha256,
    environment: record.environment,
    at: record.time,
    run: { workflowId: record.workflowId, runId: record.runId },
  };
  if (record.step === 'deployment.rolled-back' && details.verdict === 'fail') {
    return { ...base, by: 'canary', reason: text(details.reason) ?? 'a canary verdict failed' };
  }
  if (record.step === 'monitor.rolled-back') {
    return { ...base, by: 'monitor', reason: text(details.reason) ?? 'live accuracy below its floor' };
  }
  return undefined;
}

/**
 * Every quarantine of `model`'s artifacts, in force or lifted, oldest first. A rollback after a
 * lift quarantines the artifact again.
 */
export function quarantines(
  records: readonly LifeRecord[],
  model: string,
): { inForce: Quarantine[]; lifted: LiftedQuarantine[] } {
  const open = new Map<string, Quarantine>();
  const lifted: LiftedQuarantine[] = [];
  for (const record of records) {
    if (record.model !== model) continue;
    const found = quarantineIn(record);
    if (found) {
      if (!open.has(found.artifactSha256)) open.set(found.artifactSha256, found);
      continue;
    }
    if (record.step === QUARANTINE_LIFTED) {
      const sha = text(record.details?.artifactSha256);
      const quarantine = sha ? open.get(sha) : undefined;
      if (!sha || !quarantine) continue;
      open.delete(sha);
      lifted.push({
        ...quarantine,
        lifted: { by: record.actor, at: record.time, reason: text(record.details?.reason) ?? '' },
      });
    }
  }
  return { inForce: [...open.values()], lifted };
}

/** The quarantine in force on `artifactSha256` of `model`, if any. */
export function quarantineOf(
  records: readonly LifeRecord[],
  model: string,
  artifactSha256: string,
): Quarantine | undefined {
  return quarantines(records, model).inForce.find((q) => q.artifactSha256 === artifactSha256);
}

/** One sentence: why the artifact may not be deployed, and how to lift it. */
export function quarantineMessage(quarantine: Quarantine): string {
  const what = quarantine.by === 'canary' ? 'its canary was rolled back' : 'its monitor rolled it back';
  return `model ${quarantine.model} artifact sha256:${quarantine.artifactSha256.slice(0, 12)} is quarantined: ${what} in ${quarantine.environment} at ${quarantine.at} (${quarantine.reason}); lift it with \`modelship quarantine lift ${quarantine.model} ${quarantine.artifactSha256} --reason "…"\``;
}
