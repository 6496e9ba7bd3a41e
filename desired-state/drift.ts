/**
 * Drift: where Git (the specs at the deploy branch's head), Temporal (the runs of each
 * deployment) and the data plane (the desired state and the replicas' reports) disagree about an
 * environment. A pure judgement over what `gitops/reconcile.ts` observed, so every case is
 * unit-tested without a server, and `reconcile`, `status` and `apply` judge alike.
 *
 * Who is right depends on the layer:
 * - Temporal is the record of what was rolled out, so a data plane that differs from the last
 *   finished run is wrong and can be put back (`repair`); a model being rolled out right now is
 *   left to its rollout, which owns its routing until it ends.
 * - Git is what should be rolled out, but only a rollout (validation, gates, canary, approval)
 *   may make it so: Git drift is reported, and applied only where the environment's policy says.
 * - Replicas converge by themselves; one that lags or failed is reported, never repaired here.
 */
import type { DriftFinding } from '../domain/reconcile.ts';
import type { Convergence } from './convergence.ts';
import type { DesiredState } from './types.ts';

/** A valid spec at head that deploys to the environment. */
export interface DeclaredSpec {
  model: string;
  path: string;
  specDigest: string;
}

/** The specs at the deploy branch's head; absent when reconcile was asked about the data plane only. */
export interface GitView {
  commit: string;
  specs: DeclaredSpec[];
  /** Specs at head that do not parse or break a rule: reported, never applied. */
  invalid: { path: string; message: string }[];
}

/** One run of a deployment's workflow id (DeployModel or RetireModel). */
export interface RunView {
  workflowId: string;
  runId: string;
  /**
   * MonitorModel appears only for a monitor that rolled its version back (its result has the
   * shape of DeployModel's): that rollback is the deployment's latest word on what serves.
   */
  type: 'DeployModel' | 'RetireModel' | 'MonitorModel';
  state: 'running' | 'closed';
  /** Temporal's status name: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, … */
  status: string;
  commit?: string;
  specDigest?: string;
  /** The result's outcome (completed runs). */
  outcome?: string;
  /**
   * The stable version on the data plane when the run ended (DeployModel's `dataPlane.stable`):
   * what the data plane must serve until the next run. Undefined when the run never touched it.
   */
  stable?: string | null;
}

/** Each model's runs in the environment, newest first. */
export type RunsByModel = Record<string, RunView[]>;

/** The environment's data plane as the replicas follow it. */
export interface DataPlaneView {
  desired: DesiredState;
  convergence: Convergence;
}

export interface DriftInput {
  environment: string;
  git?: GitView;
  runs: RunsByModel;
  dataPlane: DataPlaneView;
}

const DEPLOYED_OUTCOMES = new Set(['serving', 'promoted', 'loaded']);
const short = (text: string | undefined) => (text ?? '?').slice(0, 12);

/**
 * What the data plane must serve for `model` by Temporal's record: the stable version the newest
 * finished run left (null after a retirement, or when no run left one), or `rolling-out` while a
 * run is in flight.
 */
export function expectedStable(runs: readonly RunView[]): string | null | 'rolling-out' {
  for (const run of runs) {
    if (run.state === 'running') return run.type === 'DeployModel' ? 'rolling-out' : null;
    if (run.type === 'RetireModel') {
      if (run.status === 'COMPLETED') return null;
      continue;
    }
    if (run.stable !== undefined) return run.stable;
  }
  return null;
}

/** Every disagreement between Git, Temporal and the data plane, models in name order. */
export function findDrift(input: DriftInput): DriftFinding[] {
  const models = new Set([...Object.keys(input.runs), ...Object.keys(input.dataPlane.desired.models)]);
  for (const spec of input.git?.specs ?? []) models.add(spec.model);
  const findings: DriftFinding[] = [];
  if (input.git) findings.push(...gitDrift(input.git, input.runs, input.dataPlane.desired));
  for (const model of [...models].sort()) {
    const finding = dataPlaneDrift(model, input.runs[model] ?? [], input.dataPlane.desired);
    if (finding) findings.push(finding);
  }
  const { convergence } = input.dataPlane;
  const routesSomething = Object.keys(input.dataPlane.desired.models).length > 0;
  if (routesSomething && convergence.state !== 'done') {
    findings.push({ kind: 'replicas', layer: 'replicas', message: convergence.message });
  }
  return findings.sort(byLayerThenModel);
}

const LAYER_ORDER = { git: 0, 'data-plane': 1, replicas: 2 } as const;
function byLayerThenModel(a: DriftFinding, b: DriftFinding): number {
  return LAYER_ORDER[a.layer] - LAYER_ORDER[b.layer] || (a.model ?? '').localeCompare(b.model ?? '');
}

function gitDrift(git: GitView, runs: RunsByModel, desired: DesiredState): DriftFinding[] {
  const findings: DriftFinding[] = git.invalid.map(({ path, message }) => ({
    kind: 'invalid-spec' as const,
    layer: 'git' as const,
    message: `${path} at ${short(git.commit)} is not valid: ${message}`,
  }));
  const declared = new Set<string>();
  for (const spec of git.specs) {
    declared.add(spec.model);
    const latest = (runs[spec.model] ?? [])[0];
    const finding = specDrift(spec, latest, git.commit);
    if (finding) findings.push(finding);
  }
  const undeclared = new Set(Object.keys(desired.models));
  for (const [model, modelRuns] of Object.entries(runs)) {
    if (expectedStable(modelRuns) !== null) undeclared.add(model);
  }
  for (const model of [...undeclared].sort()) {
    if (declared.has(model)) continue;
    findings.push({
      kind: 'undeclared',
      layer: 'git',
      model,
      message: `${model} is deployed, but no spec at ${short(git.commit)} declares it (removing a spec in a commit retires its model)`,
    });
  }
  return findings;
}

function specDrift(
  spec: DeclaredSpec,
  latest: RunView | undefined,
  commit: string,
): DriftFinding | undefined {
  const at = `${spec.path} at ${short(commit)}`;
  const base = { layer: 'git' as const, model: spec.model };
  if (latest === undefined) {
    return { ...base, kind: 'not-deployed', message: `${at} was never deployed` };
  }
  const same = latest.type !== 'RetireModel' && latest.specDigest === spec.specDigest;
  if (!same) {
    const what =
      latest.type === 'RetireModel'
        ? 'the model was retired'
        : `its latest run deployed another spec (commit ${short(latest.commit)})`;
    return { ...base, kind: 'not-deployed', message: `${at} is not deployed: ${what}` };
  }
  if (latest.state === 'running') return undefined;
  if (latest.outcome !== undefined && DEPLOYED_OUTCOMES.has(latest.outcome)) return undefined;
  if (latest.outcome === 'rolled-back' || latest.outcome === 'rejected') {
    return {
      ...base,
      kind: 'held',
      message: `${at} was ${latest.outcome} (run ${latest.runId}): it stays undeployed until the spec changes`,
    };
  }
  return {
    ...base,
    kind: 'not-deployed',
    message: `${at} is not deployed: its run ended ${latest.status.toLowerCase()} without deploying`,
  };
}

function dataPlaneDrift(
  model: string,
  runs: readonly RunView[],
  desired: DesiredState,
): DriftFinding | undefined {
  const routing = desired.models[model];
  const expected = expectedStable(runs);
  const base = { layer: 'data-plane' as const, model };
  // The rollout in flight owns the model's routing until it ends.
  if (expected === 'rolling-out') return undefined;
  if (runs.length === 0) {
    return routing
      ? {
          ...base,
          kind: 'unmanaged',
          message: `${model} is routed (stable ${routing.stable.version}) but no run in Temporal ever deployed it; left alone`,
        }
      : undefined;
  }
  if (expected === null) {
    return routing
      ? {
          ...base,
          kind: 'retired-but-served',
          message: `${model} was retired in Temporal but the data plane still routes it (stable ${routing.stable.version})`,
          repair: { action: 'remove', model },
        }
      : undefined;
  }
  if (!routing || routing.stable.version !== expected) {
    const now = routing ? `serves ${routing.stable.version} as stable` : 'does not route it at all';
    return {
      ...base,
      kind: 'not-served',
      message: `${model}: Temporal's last run left ${expected} stable, but the data plane ${now}`,
      repair: { action: 'serve-stable', model, version: expected },
    };
  }
  if (routing.canary || routing.shadow) {
    const what = [
      routing.canary ? `canary ${routing.canary.version}` : '',
      routing.shadow ? `shadow ${routing.shadow.version}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return {
      ...base,
      kind: 'stale-rollout',
      message: `${model}: ${what} still routed, but no rollout is running`,
      repair: { action: 'end-rollout', model },
    };
  }
  return undefined;
}

/**
 * Whether the data plane serves `version` of `model` to clients right now: it is stable in the
 * desired state and every live replica (at least one) serves that generation. The answer
 * `status` and `apply` give before they call anything deployed.
 */
export function servingOf(
  view: DataPlaneView,
  model: string,
  version: string,
): { served: true } | { served: false; why: string } {
  const routing = view.desired.models[model];
  if (!routing)
    return { served: false, why: `the data plane of ${view.desired.environment} does not route ${model}` };
  if (routing.stable.version !== version) {
    return {
      served: false,
      why: `the data plane serves ${routing.stable.version} as stable, not ${version}`,
    };
  }
  if (view.convergence.state !== 'done') return { served: false, why: view.convergence.message };
  return { served: true };
}
