/**
 * Reconcile's contracts, shared by the pass that judges and repairs (`gitops/reconcile.ts`, run
 * by the `reconcileEnvironment` activity), the Reconcile workflow, and the commands that start
 * it or read its report (`reconcile`, `status`, `apply`). Types only: the judgement is
 * `desired-state/drift.ts`.
 */

/** What one reconcile pass is asked to do. */
export interface ReconcileRequest {
  environment: string;
  /** The repository whose deploy branch is compared; without it, Git is not compared. */
  repository?: string;
  /** The deploy branch (or tag, or `HEAD`: the server's default branch). */
  ref?: string;
  /** Where specs live in the repository (default `specs`). */
  specsDir?: string;
  /** Repair data-plane drift and apply Git drift as the policy says; false only observes. */
  repair: boolean;
}

export type DriftKind =
  /** Git: a spec at head whose content no run has deployed. */
  | 'not-deployed'
  /** Git: the spec at head was rolled back or rejected; it waits for a change. */
  | 'held'
  /** Git: a model that serves, or was last deployed, with no spec at head. */
  | 'undeclared'
  /** Git: a spec at head that is not valid. */
  | 'invalid-spec'
  /** Data plane: the model is missing, or another version is stable, than the last run left. */
  | 'not-served'
  /** Data plane: a canary or shadow with no rollout running. */
  | 'stale-rollout'
  /** Data plane: a retired model still routed. */
  | 'retired-but-served'
  /** Data plane: a model no run ever deployed. */
  | 'unmanaged'
  /** Replicas: a live replica is behind, failed, or none is live. */
  | 'replicas';

/** How reconcile puts the data plane back to what Temporal recorded. */
export type DataPlaneRepair =
  | { action: 'serve-stable'; model: string; version: string }
  | { action: 'end-rollout'; model: string }
  | { action: 'remove'; model: string };

export interface DriftFinding {
  kind: DriftKind;
  layer: 'git' | 'data-plane' | 'replicas';
  /** The model it concerns; absent for the replicas as a whole. */
  model?: string;
  /** One line for people: what disagrees with what. */
  message: string;
  /** Present for data-plane drift reconcile can repair. */
  repair?: DataPlaneRepair;
}

/** What one repair did. */
export interface RepairResult {
  repair: DataPlaneRepair;
  done: boolean;
  detail: string;
}

/** How each model Temporal calls deployed stands on the data plane. */
export interface ServingState {
  /** The stable version Temporal's last run left; null when retired or never deployed. */
  expected: string | null | 'rolling-out';
  served: boolean;
  why?: string;
}

export interface ReconcileReport {
  environment: string;
  /** The head commit compared, when Git was. */
  commit?: string;
  generation: number;
  /** Drift found before any repair. */
  findings: DriftFinding[];
  repairs: RepairResult[];
  /** What applying Git drift did, when the policy asked for it. */
  applied?: { policy: 'apply'; started: string[]; lines: string[]; exitCode: number };
  /** Git drift policy of the environment at the commit; `report` without Git. */
  gitDriftPolicy: 'report' | 'apply';
  convergence: { state: string; message: string };
  serving: Record<string, ServingState>;
  /** Drift left after this pass: findings not repaired, and Git drift not applied. */
  remaining: DriftFinding[];
}

/** What the pass did about `finding`: its repair's result, or undefined when it had none to try. */
export function repairOf(report: ReconcileReport, finding: DriftFinding): RepairResult | undefined {
  const wanted = finding.repair;
  if (!wanted) return undefined;
  return report.repairs.find((r) => r.repair.action === wanted.action && r.repair.model === wanted.model);
}
