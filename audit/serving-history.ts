/**
 * What served when: the audit records of one model in one environment folded into periods, one
 * per stretch of time a version served traffic. Pure: records in, periods out.
 *
 * Which decision moves what (all `workflow.decision` records; everything else is ignored):
 *
 * | record (workflow id)                        | effect                                                    |
 * | ------------------------------------------- | --------------------------------------------------------- |
 * | `stage.entered` canary (deploy/…)           | the candidate's share is `weight` from now, stable's the rest; the first one opens the candidate's period |
 * | `deployment.serving` (deploy/…)             | the version takes all traffic without a rollout; a different version serving until then ends (`replaced`) |
 * | `deployment.promoted` (deploy/…)            | the candidate becomes stable; the previous stable ends (`promotion`) |
 * | `deployment.rolled-back` (deploy/…)         | the candidate ends (`canary-rollback`) if it had a share; stable is back at 100 % |
 * | `deployment.retired` (deploy/…)             | everything serving ends (`retired`)                       |
 * | `approval.*`, `origin.verified` (deploy/…)  | who approved, who started the run                         |
 * | `monitor.rolled-back` (monitor/…)           | the version ends (`monitor-rollback`); the one restored serves again (`restored`) |
 * | `monitor.started` (monitor/…)               | fills in a bundle digest older decisions did not carry    |
 *
 * Logs written before the canary stage carried its weight still list a rolled-back or promoted
 * candidate's canary steps, with an unknown share; a candidate that never left shadow served no
 * traffic and is not listed (`modelship audit show` has every run).
 */
import { deployModelWorkflowId, monitorWorkflowId } from '../domain/deployment.ts';
import type {
  ApprovalEntry,
  PeriodEnd,
  RolloutSummary,
  ServingPeriod,
  TrafficChange,
} from './history-document.ts';
import { AuditKind, type AuditRecord } from './record.ts';

/** Which deployment to fold. */
export interface HistoryKey {
  model: string;
  environment: string;
}

/** The periods (newest first) and how many DeployModel runs the records hold. */
export interface FoldedHistory {
  periods: ServingPeriod[];
  runs: number;
}

/** A DeployModel (or RetireModel) run, as far as the records have told. */
interface Run {
  workflowId: string;
  runId: string;
  commit: string;
  outcome: RolloutSummary['outcome'] | 'rejected';
  reason?: string;
  startedBy?: string;
  approvals: ApprovalEntry[];
  lastTime: string;
  /** Canary steps of an older log, which did not say the weight or the version. */
  unweightedCanary: string[];
}

/** A period while it is being built; `run` is shared, so later approvals show everywhere. */
interface Draft {
  version: string;
  bundleDigest: string | null;
  commit: string | null;
  role: ServingPeriod['role'];
  began: ServingPeriod['began'];
  from: string;
  ended: PeriodEnd | null;
  traffic: TrafficChange[];
  run: Run | null;
}

/** Folds `records` (in seq order, as the store lists them) into what served when. */
export function foldServingHistory(records: readonly AuditRecord[], key: HistoryKey): FoldedHistory {
  const deployId = deployModelWorkflowId(key);
  const monitorId = monitorWorkflowId(key);
  const runs = new Map<string, Run>();
  const drafts: Draft[] = [];
  let stable: Draft | undefined;
  let canary: Draft | undefined;

  const open = (fields: Omit<Draft, 'ended'>): Draft => {
    const draft = { ...fields, ended: null };
    drafts.push(draft);
    return draft;
  };
  // A candidate of an older log: its canary steps are known by time only.
  const unweighted = (run: Run, version: string): Draft | undefined => {
    const [first] = run.unweightedCanary;
    if (first === undefined) return undefined;
    return open({
      version,
      bundleDigest: null,
      commit: run.commit,
      role: 'canary',
      began: 'canary',
      from: first,
      traffic: run.unweightedCanary.map((at) => ({ at, share: null })),
      run,
    });
  };

  const runOf = (record: AuditRecord): Run => {
    const known = runs.get(record.runId);
    if (known) return known;
    // A new run of the id: the one before has ended. A candidate it left without a recorded end
    // (the run was terminated) stopped serving with it, as far as anyone can tell.
    if (canary?.run && canary.run.runId !== record.runId) {
      if (canary.run.outcome === 'running') canary.run.outcome = 'unknown';
      canary.role = 'canary-only';
      canary.ended = { how: 'unknown', at: canary.run.lastTime };
      canary = undefined;
    }
    const run: Run = {
      workflowId: record.workflowId,
      runId: record.runId,
      commit: record.commit,
      outcome: 'running',
      approvals: [],
      lastTime: record.time,
      unweightedCanary: [],
    };
    runs.set(record.runId, run);
    return run;
  };

  const onDeployDecision = (record: AuditRecord, details: Details) => {
    const run = runOf(record);
    run.lastTime = record.time;
    const at = record.time;
    switch (record.step) {
      case 'origin.verified':
        run.startedBy = record.actor;
        return;
      case 'stage.entered': {
        if (details.text('stage') !== 'canary') return;
        const weight = details.number('weight');
        const version = details.text('version');
        if (weight === undefined || version === undefined) {
          run.unweightedCanary.push(at);
          return;
        }
        if (!canary) {
          if (weight <= 0) return;
          canary = open({
            version,
            bundleDigest: details.text('bundleDigest') ?? null,
            commit: run.commit,
            role: 'canary',
            began: 'canary',
            from: at,
            traffic: [],
            run,
          });
        }
        share(canary, at, weight);
        if (stable) share(stable, at, 100 - weight);
        return;
      }
      case 'approval.approved':
      case 'approval.rejected':
      case 'approval.timed-out':
        run.approvals.push(approvalOf(record, details));
        return;
      case 'deployment.serving': {
        const version = details.text('version');
        if (version === undefined) return;
        run.outcome = 'serving';
        if (stable?.version === version) {
          // Deployed again while it served (a repeated apply): the same period goes on, with
          // all traffic whatever a run that vanished mid-canary left behind.
          stable.bundleDigest ??= details.text('bundleDigest') ?? null;
          share(stable, at, 100);
          return;
        }
        if (stable) stable.ended = { how: 'replaced', at, by: version };
        stable = open({
          version,
          bundleDigest: details.text('bundleDigest') ?? null,
          commit: run.commit,
          role: 'stable',
          began: stable ? 'direct' : 'first-version',
          from: at,
          traffic: [{ at, share: 100 }],
          run,
        });
        return;
      }
      case 'deployment.promoted': {
        const version = details.text('version');
        if (version === undefined) return;
        run.outcome = 'promoted';
        const promoted =
          (canary?.run === run ? canary : undefined) ??
          unweighted(run, version) ??
          open({
            version,
            bundleDigest: null,
            commit: run.commit,
            role: 'canary',
            began: 'canary',
            from: at,
            traffic: [],
            run,
          });
        promoted.bundleDigest ??= details.text('bundleDigest') ?? null;
        promoted.role = 'stable';
        promoted.began = 'promoted';
        share(promoted, at, 100);
        if (stable) stable.ended = { how: 'promotion', at, by: version };
        stable = promoted;
        canary = undefined;
        return;
      }
      case 'deployment.rolled-back': {
        const reason = details.text('reason');
        run.outcome = 'rolled-back';
        if (reason !== undefined) run.reason = reason;
        const candidate = details.text('candidate');
        const rolledBack =
          (canary?.run === run ? canary : undefined) ??
          (candidate === undefined ? undefined : unweighted(run, candidate));
        if (rolledBack) {
          rolledBack.role = 'canary-only';
          rolledBack.ended = { how: 'canary-rollback', at, ...(reason === undefined ? {} : { reason }) };
        }
        canary = undefined;
        if (stable) share(stable, at, 100);
        return;
      }
      case 'deployment.rejected':
        run.outcome = 'rejected';
        return;
      case 'deployment.retired':
        for (const draft of [canary, stable]) {
          if (!draft) continue;
          if (draft.role === 'canary') draft.role = 'canary-only';
          draft.ended = { how: 'retired', at };
        }
        canary = undefined;
        stable = undefined;
        return;
    }
  };

  const onMonitorDecision = (record: AuditRecord, details: Details) => {
    const version = details.text('version');
    if (!stable || version !== stable.version) return;
    if (record.step === 'monitor.started') {
      stable.bundleDigest ??= details.text('bundleDigest') ?? null;
      return;
    }
    if (record.step !== 'monitor.rolled-back') return;
    const restored = details.text('restored');
    if (restored === undefined) return;
    const reason = details.text('reason');
    const at = record.time;
    stable.bundleDigest ??= details.text('bundleDigest') ?? null;
    stable.ended = { how: 'monitor-rollback', at, by: restored, ...(reason === undefined ? {} : { reason }) };
    // The version restored is the one that served before; its earlier period says where it came from.
    const earlier = drafts.findLast((draft) => draft.version === restored);
    stable = open({
      version: restored,
      bundleDigest: details.text('restoredBundleDigest') ?? earlier?.bundleDigest ?? null,
      commit: earlier?.commit ?? null,
      role: 'stable',
      began: 'restored',
      from: at,
      traffic: [{ at, share: 100 }],
      run: earlier?.run ?? null,
    });
  };

  for (const record of records) {
    if (record.kind !== AuditKind.WorkflowDecision) continue;
    if (record.model !== key.model || record.environment !== key.environment) continue;
    const details = detailsOf(record);
    if (record.workflowId === deployId) onDeployDecision(record, details);
    else if (record.workflowId === monitorId) onMonitorDecision(record, details);
  }

  const periods = drafts
    .map((draft, index) => ({ period: periodOf(draft), index }))
    .sort((a, b) => Date.parse(b.period.from) - Date.parse(a.period.from) || b.index - a.index)
    .map(({ period }) => period);
  return { periods, runs: [...runs.values()].filter((run) => run.workflowId === deployId).length };
}

/** The periods that served at or after `since` (an ISO time): open ones, and those that ended later. */
export function periodsSince(periods: readonly ServingPeriod[], since: string): ServingPeriod[] {
  const from = Date.parse(since);
  return periods.filter((period) => period.to === null || Date.parse(period.to) >= from);
}

/** Adds a share unless it is the one already in force. */
function share(draft: Draft, at: string, value: number): void {
  if (draft.traffic.at(-1)?.share === value) return;
  draft.traffic.push({ at, share: value });
}

function approvalOf(record: AuditRecord, details: Details): ApprovalEntry {
  const step = details.number('step');
  const at = record.time;
  if (record.step === 'approval.timed-out') {
    return { step: step ?? null, decision: 'timed-out', approver: null, method: null, at };
  }
  const proof = details.text('proof');
  const issuer = details.text('issuer');
  const fingerprint = details.text('proofFingerprint');
  const comment = details.text('comment');
  return {
    step: step ?? null,
    decision: record.step === 'approval.approved' ? 'approved' : 'rejected',
    approver: record.actor,
    // Without a proof the policy let a bare name through (or the run predates verified approvals).
    method: proof === 'signature' || proof === 'oidc' ? proof : 'unsigned',
    ...(issuer === undefined ? {} : { issuer }),
    ...(fingerprint === undefined ? {} : { proofFingerprint: fingerprint }),
    ...(comment === undefined ? {} : { comment }),
    at,
  };
}

function periodOf(draft: Draft): ServingPeriod {
  const shares = draft.traffic.flatMap((change) => (change.share === null ? [] : [change.share]));
  const run = draft.run;
  return {
    version: draft.version,
    bundleDigest: draft.bundleDigest,
    commit: draft.commit,
    role: draft.role,
    began: draft.began,
    from: draft.from,
    to: draft.ended?.at ?? null,
    ended: draft.ended,
    maxShare: shares.length === 0 ? null : Math.max(...shares),
    traffic: draft.traffic.map((change) => ({ ...change })),
    rollout:
      run === null
        ? null
        : {
            workflowId: run.workflowId,
            runId: run.runId,
            commit: run.commit,
            // A rejected run brings nothing in, so it never stands behind a period.
            outcome: run.outcome === 'rejected' ? 'unknown' : run.outcome,
            ...(run.reason === undefined ? {} : { reason: run.reason }),
            ...(run.startedBy === undefined ? {} : { startedBy: run.startedBy }),
            approvals: run.approvals.map((approval) => ({ ...approval })),
          },
  };
}

/** Typed reads of a decision's details, which are loose JSON written by many versions. */
interface Details {
  text(name: string): string | undefined;
  number(name: string): number | undefined;
}

function detailsOf(record: AuditRecord): Details {
  const details: Record<string, unknown> = record.details ?? {};
  return {
    text: (name) => {
      const value = details[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    },
    number: (name) => {
      const value = details[name];
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    },
  };
}
