/**
 * Reconcile one environment: observe Git (the specs at the deploy branch's head), Temporal (every
 * run of each deployment's workflow id) and the data plane (desired state and replica reports),
 * judge the drift (`desired-state/drift.ts`), put the data plane back to what Temporal recorded,
 * and apply Git drift where the environment's policy says `reconcile.gitDrift: apply`.
 *
 * It runs inside the `reconcileEnvironment` activity (the `Reconcile` workflow that
 * `modelship reconcile` and its Temporal Schedule start), so it observes with a worker's access:
 * its Git cache, its desired-state store. `status` and `apply` run it without Git and without
 * repairing, to learn whether what Temporal calls deployed is served.
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { convergence } from '../desired-state/convergence.ts';
import {
  type DataPlaneView,
  type DeclaredSpec,
  expectedStable,
  findDrift,
  type GitView,
  type RunsByModel,
  type RunView,
  servingOf,
} from '../desired-state/drift.ts';
import type { DesiredStateStore } from '../desired-state/store.ts';
import { emptyDesiredState, type Models, type VersionRef } from '../desired-state/types.ts';
import {
  type DeploymentKey,
  MEMO_DEPLOYMENT_KEY,
  parseDeployModelWorkflowId,
  parseMonitorWorkflowId,
} from '../domain/deployment.ts';
import type {
  DataPlaneRepair,
  DriftFinding,
  ReconcileReport,
  RepairResult,
  ServingState,
} from '../domain/reconcile.ts';
import { DeploymentMemoSchema } from '../domain/run-start.ts';
import type { AdminClient, RoutingState } from '../serving/admin-client.ts';
import { loadPolicy } from '../supply-chain/policy/load.ts';
import { applyChanges, retireDeployments } from './apply.ts';
import { compare, isSpecFile } from './changes.ts';
import { type CommitReader, NULL_SHA } from './git.ts';
import { specDigest } from './spec-digest.ts';
import { declaresModelDeployment, effectiveTextAt, specIdentity } from './spec-fields.ts';

/** The specs reconcile compares with: a commit of a repository, read through `reader`. */
export interface ReconcileGit {
  reader: CommitReader;
  /** The repository URL workers fetch from (what runs started by reconcile carry). */
  repository: string;
  commit: string;
  specsDir: string;
}

/**
 * Where the environment's data plane is read (and repaired): the desired state its replicas
 * follow, or the one data plane a worker in admin mode drives, whose routing lives in its memory
 * and can only be read: a model it forgot is deployed again by `apply`.
 */
export type ReconcileDataPlane = { desired: DesiredStateStore } | { admin: AdminClient; url: string };

export interface ReconcileInput {
  environment: string;
  /** Without it, only Temporal and the data plane are compared (no Git drift). */
  git?: ReconcileGit;
  /** Put data-plane drift back to what Temporal recorded (default false: observe only). */
  repair?: boolean;
  client: Client;
  /** The task queue runs started by reconcile (policy `gitDrift: apply`) go to. */
  taskQueue: string;
  /** The environment's data plane: replicas following a desired state, or one driven through its admin API. */
  dataPlane: ReconcileDataPlane;
  /** A replica silent for longer is not live (default 10 s; replicas report every 2 s). */
  liveWithinMs?: number;
  /** Progress and apply's lines; default nowhere. */
  out?: (line: string) => void;
}

const LIVE_WITHIN_MS = 10_000;

/** Observes, judges, repairs and applies as asked; see the module comment. */
export async function reconcileEnvironment(input: ReconcileInput): Promise<ReconcileReport> {
  const { environment } = input;
  const out = input.out ?? (() => {});
  const git = input.git ? await observeGit(input.git, environment) : undefined;
  const runs = await observeRuns(input.client, environment);
  const observe = () =>
    'desired' in input.dataPlane
      ? observeDataPlane(input.dataPlane.desired, environment, input.liveWithinMs)
      : observeAdminDataPlane(input.dataPlane, environment, runs);
  let dataPlane = await observe();
  const findings = findDrift({ environment, ...(git ? { git } : {}), runs, dataPlane });
  for (const finding of findings)
    out(`reconcile ${environment}: drift (${finding.layer}): ${finding.message}`);

  const repairs: RepairResult[] = [];
  if (input.repair) {
    for (const finding of findings) {
      if (!finding.repair) continue;
      const result =
        'desired' in input.dataPlane
          ? await repairDataPlane(input.dataPlane.desired, environment, finding.repair)
          : {
              repair: finding.repair,
              done: false,
              detail: `${finding.repair.model}: the data plane at ${input.dataPlane.url} is driven through its admin API and keeps its routing in memory only; \`modelship apply\` deploys again what it does not serve (or run workers with MODELSHIP_DATA_PLANE_MODE=desired-state)`,
            };
      out(`reconcile ${environment}: ${result.done ? 'repaired' : 'could not repair'}: ${result.detail}`);
      repairs.push(result);
    }
    if (repairs.some((repair) => repair.done)) {
      dataPlane = await observe();
    }
  }

  const gitDriftPolicy = input.git ? await gitDriftPolicyAt(input.git, environment) : 'report';
  const gitFindings = findings.filter(
    (finding) => finding.kind === 'not-deployed' || finding.kind === 'undeclared',
  );
  let applied: ReconcileReport['applied'];
  if (input.git && input.repair && gitDriftPolicy === 'apply' && gitFindings.length > 0) {
    applied = await applyGitDrift(input, input.git, gitFindings, runs);
  }

  const repairedModels = new Set(repairs.filter((r) => r.done).map((r) => r.repair.model));
  const remaining = findings.filter((finding) => {
    if (finding.repair) return !repairedModels.has(finding.repair.model);
    if (finding.kind === 'replicas') return dataPlane.convergence.state !== 'done';
    if (applied && (finding.kind === 'not-deployed' || finding.kind === 'undeclared'))
      return applied.exitCode !== 0;
    return true;
  });
  return {
    environment,
    ...(git ? { commit: git.commit } : {}),
    generation: dataPlane.desired.generation,
    findings,
    repairs,
    ...(applied ? { applied } : {}),
    gitDriftPolicy,
    convergence: { state: dataPlane.convergence.state, message: dataPlane.convergence.message },
    serving: servingStates(runs, dataPlane),
    remaining,
  };
}

/** Each deployed model's standing on the data plane, for `status` and `apply`. */
function servingStates(runs: RunsByModel, dataPlane: DataPlaneView): Record<string, ServingState> {
  const states: Record<string, ServingState> = {};
  for (const [model, modelRuns] of Object.entries(runs)) {
    const expected = expectedStable(modelRuns);
    if (expected === null || expected === 'rolling-out') {
      states[model] = { expected, served: false };
      continue;
    }
    const served = servingOf(dataPlane, model, expected);
    states[model] = { expected, served: served.served, ...(served.served ? {} : { why: served.why }) };
  }
  return states;
}

/** The specs at the commit that deploy to `environment`. */
async function observeGit(git: ReconcileGit, environment: string): Promise<GitView> {
  const { reader, commit, specsDir } = git;
  const paths = [...(await reader.files(commit))].filter((path) => isSpecFile(path, specsDir)).sort(compare);
  const specs: DeclaredSpec[] = [];
  const invalid: GitView['invalid'] = [];
  for (const path of paths) {
    const written = await reader.readText(commit, path);
    if (!declaresModelDeployment(written)) continue;
    // The effective spec: its digest is the one `apply` started the rollout with.
    const text = await effectiveTextAt(reader, commit, written);
    const key = specIdentity(text);
    if (key === undefined) {
      invalid.push({
        path,
        message:
          'metadata.name and spec.rollout.environment must both be strings (in the spec, or in the base it extends)',
      });
      continue;
    }
    if (key.environment === environment) specs.push({ model: key.model, path, specDigest: specDigest(text) });
  }
  return { commit, specs, invalid };
}

// Memos and results come from other versions of the workflows: parsed loosely at this boundary.
const MemoSchema = DeploymentMemoSchema.pick({ commit: true, specDigest: true }).partial();
const ResultSchema = z.object({
  outcome: z.string(),
  dataPlane: z.object({ stable: z.string().nullable() }).optional(),
});

/**
 * Every DeployModel and RetireModel run of the environment's workflow ids, and every finished
 * monitor run, newest first per model. Results are read only as far back as the first run that
 * says what should serve; a monitor's run says so only when it rolled its version back.
 */
async function observeRuns(client: Client, environment: string): Promise<RunsByModel> {
  const listed: Record<string, { run: RunView; startedAt: number }[]> = {};
  const deployments = `(WorkflowType IN ('DeployModel', 'RetireModel') AND WorkflowId STARTS_WITH 'deploy/${environment}/')`;
  const monitors = `(WorkflowType = 'MonitorModel' AND WorkflowId STARTS_WITH 'monitor/${environment}/' AND ExecutionStatus = 'Completed')`;
  for await (const run of client.workflow.list({ query: `${deployments} OR ${monitors}` })) {
    const key =
      run.type === 'MonitorModel'
        ? parseMonitorWorkflowId(run.workflowId)
        : parseDeployModelWorkflowId(run.workflowId);
    if (!key || key.environment !== environment) continue;
    const memo = MemoSchema.safeParse(run.memo?.[MEMO_DEPLOYMENT_KEY]);
    const view: RunView = {
      workflowId: run.workflowId,
      runId: run.runId,
      type: run.type === 'RetireModel' || run.type === 'MonitorModel' ? run.type : 'DeployModel',
      state: run.status.name === 'RUNNING' ? 'running' : 'closed',
      status: run.status.name,
      ...(memo.success && memo.data.commit ? { commit: memo.data.commit } : {}),
      ...(memo.success && memo.data.specDigest ? { specDigest: memo.data.specDigest } : {}),
    };
    listed[key.model] = [...(listed[key.model] ?? []), { run: view, startedAt: run.startTime.getTime() }];
  }
  const byModel: RunsByModel = {};
  for (const [model, entries] of Object.entries(listed)) {
    const sorted = entries.sort((a, b) => b.startedAt - a.startedAt).map(({ run }) => run);
    const newestFirst: RunView[] = [];
    let decided = false;
    for (const run of sorted) {
      if (run.type === 'MonitorModel') {
        // A monitor counts only where it rolled back, and only before a newer run decided.
        if (decided) continue;
        const result = await resultOf(client, run);
        if (result?.outcome !== 'rolled-back' || !result.dataPlane) continue;
        run.outcome = result.outcome;
        run.stable = result.dataPlane.stable;
        newestFirst.push(run);
        decided = true;
        continue;
      }
      newestFirst.push(run);
      if (decided) continue;
      if (run.state === 'running' || run.type === 'RetireModel') {
        decided = true;
        continue;
      }
      if (run.status !== 'COMPLETED') continue;
      const result = await resultOf(client, run);
      if (!result) continue;
      run.outcome = result.outcome;
      if (result.dataPlane) {
        run.stable = result.dataPlane.stable;
        decided = true;
      }
    }
    byModel[model] = newestFirst;
  }
  return byModel;
}

/** A finished run's result, in the shape reconcile reads; undefined when it has another. */
async function resultOf(client: Client, run: RunView): Promise<z.infer<typeof ResultSchema> | undefined> {
  const result = ResultSchema.safeParse(
    await client.workflow
      .getHandle(run.workflowId, run.runId)
      .result()
      .catch(() => undefined),
  );
  return result.success ? result.data : undefined;
}

async function observeDataPlane(
  desired: DesiredStateStore,
  environment: string,
  liveWithinMs = LIVE_WITHIN_MS,
): Promise<DataPlaneView> {
  const state = await desired.read(environment);
  const reports = await desired.replicas(environment);
  return {
    desired: state,
    convergence: convergence({ desired: state, reports: reports.reports, now: reports.readAt, liveWithinMs }),
  };
}

/**
 * The one data plane a worker in admin mode drives, seen as a desired state with one replica:
 * its routing of the models that have runs in this environment (it serves every environment's
 * models side by side), and whether it answers at all.
 */
async function observeAdminDataPlane(
  source: { admin: AdminClient; url: string },
  environment: string,
  runs: RunsByModel,
): Promise<DataPlaneView> {
  const now = new Date().toISOString();
  const desired = { ...emptyDesiredState(environment), generation: 1 };
  const standing = {
    replica: 'data-plane',
    generation: 1,
    serving: 1,
    status: 'converged' as const,
    message: null,
    url: source.url,
    reportedAt: now,
    ageMs: 0,
  };
  const verdict = { environment, target: 1, converged: [standing], lagging: [], failed: [], stale: [] };
  let routed: RoutingState[];
  try {
    routed = await source.admin.models();
  } catch (error) {
    return {
      desired,
      convergence: {
        ...verdict,
        state: 'waiting',
        converged: [],
        message: `the data plane at ${source.url} does not answer: ${(error as Error).message}`,
      },
    };
  }
  for (const state of routed) {
    if (!state.stable || !(state.model in runs)) continue;
    const ref = (version: string) => ({
      version,
      bundle: state.loaded.find((loaded) => loaded.version === version)?.bundleDigest ?? '',
    });
    desired.models[state.model] = {
      stable: ref(state.stable.version),
      canary: state.canary ? { ...ref(state.canary.version), weight: state.canary.weight } : null,
      shadow: state.shadow ? ref(state.shadow.version) : null,
      previousStable: null,
    };
  }
  return {
    desired,
    convergence: { ...verdict, state: 'done', message: `the data plane at ${source.url} answers` },
  };
}

/**
 * The bundle a version was served from, found in the environment's desired-state history: the
 * record names versions by bundle digest, and a version that once served keeps its bundle.
 */
async function bundleOf(
  desired: DesiredStateStore,
  environment: string,
  model: string,
  version: string,
): Promise<VersionRef | undefined> {
  for (const state of await desired.history(environment, { limit: 1000 })) {
    const routing = state.models[model];
    if (!routing) continue;
    const ref = [routing.stable, routing.canary, routing.shadow, routing.previousStable].find(
      (candidate) => candidate?.version === version,
    );
    if (ref) return { version, bundle: ref.bundle };
  }
  return undefined;
}

/** Writes one repair into the desired state; a refusal is reported, never thrown. */
async function repairDataPlane(
  desired: DesiredStateStore,
  environment: string,
  repair: DataPlaneRepair,
): Promise<RepairResult> {
  const by = `reconcile/${environment}`;
  try {
    if (repair.action === 'serve-stable') {
      const ref = await bundleOf(desired, environment, repair.model, repair.version);
      if (!ref) {
        return {
          repair,
          done: false,
          detail: `${repair.model}: the bundle of ${repair.version} is not in the desired state's history; redeploy it (change its spec, or \`modelship apply\`, which redeploys what no replica serves)`,
        };
      }
      const state = await desired.update(
        environment,
        (models: Models) => {
          const current = models[repair.model];
          const previous = current && current.stable.version !== repair.version ? current.stable : null;
          models[repair.model] = { stable: ref, canary: null, shadow: null, previousStable: previous };
          return models;
        },
        { by, reason: `reconcile: ${repair.model} serves ${repair.version}, as Temporal recorded` },
      );
      return {
        repair,
        done: true,
        detail: `${repair.model}: ${repair.version} stable again (generation ${state.generation})`,
      };
    }
    if (repair.action === 'end-rollout') {
      const state = await desired.update(
        environment,
        (models: Models) => {
          const current = models[repair.model];
          if (current) models[repair.model] = { ...current, canary: null, shadow: null };
          return models;
        },
        { by, reason: `reconcile: ${repair.model} has no rollout running` },
      );
      return {
        repair,
        done: true,
        detail: `${repair.model}: canary and shadow removed (generation ${state.generation})`,
      };
    }
    const state = await desired.update(
      environment,
      (models: Models) => {
        delete models[repair.model];
        return models;
      },
      { by, reason: `reconcile: ${repair.model} was retired` },
    );
    return {
      repair,
      done: true,
      detail: `${repair.model}: no longer routed (generation ${state.generation})`,
    };
  } catch (error) {
    return { repair, done: false, detail: `${repair.model}: ${(error as Error).message}` };
  }
}

/** `reconcile.gitDrift` of the environment's policy at the commit; `report` when it cannot be read. */
async function gitDriftPolicyAt(git: ReconcileGit, environment: string): Promise<'report' | 'apply'> {
  const files = await git.reader.files(git.commit);
  const loaded = await loadPolicy(
    {
      readFile: async (path) => (files.has(path) ? git.reader.readText(git.commit, path) : undefined),
    },
    environment,
  ).catch(() => undefined);
  return loaded?.ok ? loaded.policy.reconcile.gitDrift : 'report';
}

/**
 * Applies the head commit's specs of the environment as `apply` would from nothing (every spec
 * decided against its latest run: deployed ones are left alone, held ones refused) and retires
 * deployments no spec declares. Runs are started, not waited for: each is a rollout of its own.
 */
async function applyGitDrift(
  input: ReconcileInput,
  git: ReconcileGit,
  gitFindings: DriftFinding[],
  runs: RunsByModel,
): Promise<NonNullable<ReconcileReport['applied']>> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    input.out?.(line);
  };
  let exitCode = 0;
  const started: string[] = [];
  if (gitFindings.some((finding) => finding.kind === 'not-deployed')) {
    const report = await applyChanges({
      reader: git.reader,
      repository: git.repository,
      base: NULL_SHA,
      head: git.commit,
      specsDir: git.specsDir,
      onlyEnvironment: input.environment,
      connect: async () => input.client,
      taskQueue: input.taskQueue,
      wait: false,
      out: say,
      err: say,
    });
    exitCode = report.exitCode;
    started.push(...report.started);
  }
  const undeclared: { path: string; deployment: DeploymentKey }[] = gitFindings
    .filter((finding) => finding.kind === 'undeclared' && finding.model !== undefined)
    .filter((finding) => (runs[finding.model as string] ?? []).length > 0)
    .map((finding) => ({
      path: `(no spec at ${git.commit.slice(0, 12)})`,
      deployment: { model: finding.model as string, environment: input.environment },
    }));
  if (undeclared.length > 0) {
    const retired = await retireDeployments({
      client: input.client,
      taskQueue: input.taskQueue,
      repository: git.repository,
      specs: undeclared,
      head: git.commit,
      out: say,
    });
    started.push(...retired.started.map(({ handle }) => handle.workflowId));
    if (retired.failed) exitCode = 1;
  }
  return { policy: 'apply', started, lines, exitCode };
}
