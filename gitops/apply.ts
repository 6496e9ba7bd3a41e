/**
 * `apply`: one DeployModel per spec changed between two commits, each read at the head commit.
 * All or nothing on validity: one invalid spec (the plan's verdict) and nothing starts. Then,
 * spec by spec, the latest run of its workflow id decides (see `apply-decision.ts`): skip what
 * is already rolling out or deployed, refuse a spec whose version was rolled back, supersede a
 * rollout of another commit (cancelled: it rolls back, unless it had already promoted; see
 * `cancel-effect.ts`), start the rest. Applying the same head twice
 * starts nothing new.
 *
 * A removed spec whose model and environment no spec at head declares (the plan's `retire`)
 * gets a RetireModel under the same workflow id: a rollout still running is cancelled first (it
 * rolls back), a deployment already retired is left alone.
 */

import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  type CommitAuthor,
  type DeploymentKey,
  deployModelWorkflowId,
  deploymentLabel,
} from '../domain/deployment.ts';
import { shortId } from '../domain/short-id.ts';
import { formatSpecError } from '../specs/errors.ts';
import type { DeployModel, DeployModelInput } from '../workflows/deploy-model.ts';
import { statusQuery } from '../workflows/messages.ts';
import type { RetireModel } from '../workflows/retire-model.ts';
import { type ApplyDecision, decideApply, isDeployedOutcome, type ObservedRun } from './apply-decision.ts';
import { cancelEffect } from './cancel-effect.ts';
import { followRun, lostConnectionLine } from './follow-run.ts';
import type { CommitReader } from './git.ts';
import { observeLatestRun } from './observe.ts';
import { buildPlan, type DeployableSpec, type ReleaseRecords, type SpecPlan } from './plan.ts';
import { summaryLine } from './plan-markdown.ts';
import { startDeployment, startRetirement } from './start-deployment.ts';
import { checkServing, type ServingCheck } from './start-reconcile.ts';

export interface ApplyInput {
  reader: CommitReader;
  /** The audit records the release gates are judged on, as for `plan` (`BuildPlanInput.release`). */
  release?: ReleaseRecords;
  /**
   * The repository URL the workers fetch `head` from (`repositoryUrl` in repository-url.ts):
   * they may run on other machines and never read this checkout.
   */
  repository: string;
  base: string;
  head: string;
  specsDir?: string;
  /** Only specs of this environment are decided (reconcile applies one environment's drift). */
  onlyEnvironment?: string;
  /**
   * The Temporal client, asked for only once every spec is known valid and there is something
   * to decide: an invalid change fails (and an empty one passes) without reaching Temporal.
   */
  connect: () => Promise<Client>;
  taskQueue: string;
  /** The OIDC token presented as every started run's origin (`gitops/origin-token.ts`). */
  originToken?: string | undefined;
  /** Wait for each started run's result (default true). */
  wait?: boolean;
  /** While waiting, how often the `status` query is read (default 1s). */
  pollMs?: number;
  /** While waiting, how long Temporal may not answer before apply gives up on it (default 20s). */
  lostAfterMs?: number;
  /** Progress lines; default stdout. */
  out?: (line: string) => void;
  /** Spec errors and failures; default stderr. */
  err?: (line: string) => void;
}

/** What apply did, for callers and tests; `exitCode` is what the CLI exits with. */
export interface ApplyReport {
  /** 0: everything is deployed or on its way; 1: an invalid spec, a refused spec, or a failed run. */
  exitCode: 0 | 1;
  /** One entry per valid spec, in path order, then one per retired deployment. */
  decisions: { path: string; workflowId: string; decision: ApplyDecision | RetireDecision }[];
  /** Workflow ids started by this apply. */
  started: string[];
}

export async function applyChanges(input: ApplyInput): Promise<ApplyReport> {
  const out = input.out ?? ((line: string) => console.log(line));
  const err = input.err ?? ((line: string) => console.error(line));
  const built = await buildPlan(input);
  const inScope = (key: DeploymentKey | undefined) =>
    input.onlyEnvironment === undefined || key?.environment === input.onlyEnvironment;
  const plan = { ...built.plan, specs: built.plan.specs.filter((spec) => inScope(spec.deployment)) };
  const deployable = built.deployable.filter((target) => inScope(keyOfSpec(target)));
  const head = plan.head;
  out(
    `apply: ${summaryLine(plan)} (${plan.base === null ? 'nothing' : shortId(plan.base)}..${shortId(head)})`,
  );

  const invalid = plan.specs.filter((spec) => spec.verdict === 'invalid');
  if (invalid.length > 0) {
    for (const spec of invalid) for (const line of problems(spec)) err(line);
    out(`apply: nothing started: ${invalid.length} invalid ${invalid.length === 1 ? 'spec' : 'specs'}`);
    return { exitCode: 1, decisions: [], started: [] };
  }

  const retiring = plan.specs.filter((spec) => spec.verdict === 'retire');
  const retirable = retiring.filter(
    (spec): spec is SpecPlan & { deployment: DeploymentKey } => spec.deployment !== undefined,
  );
  const client = deployable.length > 0 || retirable.length > 0 ? await input.connect() : undefined;
  const decided = client
    ? await decideAndStart({ ...input, client, deployable, head, out })
    : { decisions: [], started: [], failed: false };
  let failed = decided.failed;
  const { decisions, started } = decided;

  for (const spec of plan.specs) {
    if (spec.verdict === 'retire' && spec.deployment === undefined) {
      out(`apply: ${spec.path} removed: ${spec.notes.at(-1) ?? 'nothing to retire'}`);
    } else if (spec.verdict === 'moved') {
      out(`apply: ${spec.path} removed: ${spec.notes.at(-1) ?? 'its deployment lives on'}`);
    }
  }
  if (client && retirable.length > 0) {
    const retired = await retireDeployments({ ...input, client, specs: retirable, head, out });
    decisions.push(...retired.decisions);
    started.push(...retired.started);
    if (retired.failed) failed = true;
  }

  if (input.wait ?? true) {
    // One after another: the lines of two rollouts would interleave, and each waits on people anyway.
    for (const { where, handle, kind } of started) {
      try {
        let result: { outcome: string; summary: string };
        if (kind === 'deploy') {
          const end = await followRun({
            handle: handle as WorkflowHandle<typeof DeployModel>,
            where: `apply: ${where}`,
            say: out,
            ...(input.pollMs === undefined ? {} : { pollMs: input.pollMs }),
            ...(input.lostAfterMs === undefined ? {} : { lostAfterMs: input.lostAfterMs }),
          });
          if (end.kind !== 'closed') {
            // Not "failed": the run may well have finished; only this watch of it ended.
            if (end.kind === 'lost') err(lostConnectionLine('apply', where, handle.workflowId, end));
            failed = true;
            continue;
          }
          result = await end.result;
        } else {
          result = await handle.result();
        }
        out(`apply: ${where}: ${result.outcome}: ${result.summary}`);
        const ok = kind === 'retire' ? result.outcome === 'retired' : isDeployedOutcome(result.outcome);
        if (!ok) failed = true;
      } catch (error) {
        err(`apply: ${where}: ${handle.workflowId} failed: ${(error as Error).message}`);
        failed = true;
      }
    }
  }
  return { exitCode: failed ? 1 : 0, decisions, started: started.map(({ handle }) => handle.workflowId) };
}

/** Observes, decides and acts for each valid spec in turn. */
async function decideAndStart(context: {
  client: Client;
  reader: CommitReader;
  repository: string;
  taskQueue: string;
  originToken?: string | undefined;
  deployable: DeployableSpec[];
  head: string;
  out: (line: string) => void;
}): Promise<{ decisions: ApplyReport['decisions']; started: Started[]; failed: boolean }> {
  const { client, head, out } = context;
  let refused = false;
  let conflicted = false;
  const decisions: ApplyReport['decisions'] = [];
  const started: Started[] = [];
  const author = await context.reader.author(head);
  const served = servingConfirmations(client, context.taskQueue);
  let unserved = false;
  for (const target of context.deployable) {
    const deploymentInput = {
      ...toDeploymentInput(target, head, context.repository, author),
      ...(context.originToken ? { originToken: context.originToken } : {}),
    };
    const { deployment } = deploymentInput;
    const where = deploymentLabel(deployment);
    const workflowId = deployModelWorkflowId(deployment);
    const latest = await observeLatestRun(client, workflowId);
    let decision = decideApply({ commit: head, specDigest: target.specDigest }, latest);
    if (decision.action === 'none' && decision.why === 'deployed') {
      // Temporal's record is not enough: a data plane that forgot the model must not pass for deployed.
      const standing = await served(deployment);
      if (standing.kind === 'forgotten') {
        out(
          `apply: ${where}: ${explain(decision, latest)}, but not served: ${standing.why}; deploying it again`,
        );
        decision = { action: 'start', why: 'not-served' };
      } else if (standing.kind === 'behind') {
        out(
          `apply: ${where}: deployed from ${latest ? commitOf(latest) : 'an earlier commit'}, but not served yet: ${standing.why}`,
        );
        unserved = true;
        decisions.push({ path: target.path, workflowId, decision });
        continue;
      } else if (standing.kind === 'unconfirmed') {
        out(`apply: ${where}: ${explain(decision, latest)}; serving not confirmed: ${standing.why}`);
        decisions.push({ path: target.path, workflowId, decision });
        continue;
      }
    }
    decisions.push({ path: target.path, workflowId, decision });

    if (decision.action === 'none' || decision.action === 'refuse') {
      out(`apply: ${where}: ${explain(decision, latest)}`);
      if (decision.action === 'refuse') refused = true;
      continue;
    }
    if (decision.action === 'supersede' && latest) {
      out(
        `apply: ${where}: superseding the rollout of ${commitOf(latest)} (run ${latest.runId}); ${cancelEffect(await stageOf(client, workflowId, latest.runId))}`,
      );
      const closed = await supersede(client, workflowId, latest.runId);
      out(`apply: ${where}: previous rollout closed: ${closedText(closed)}`);
    }
    let handle: WorkflowHandle;
    try {
      handle = await startDeployment(client, context.taskQueue, deploymentInput);
    } catch (error) {
      // Someone else (a `deploy`, an overlapping apply) started one since we looked.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      out(`apply: ${where}: another rollout of ${workflowId} started meanwhile; not starting this one`);
      conflicted = true;
      continue;
    }
    out(`apply: ${where}: started ${workflowId} for ${target.path}@${shortId(head)}`);
    started.push({ where, handle, kind: 'deploy' });
  }
  return { decisions, started, failed: refused || conflicted || unserved };
}

/** Whether the data plane serves a deployment Temporal calls deployed; see {@link servingConfirmations}. */
type ServingStanding =
  | { kind: 'served' }
  /** The data plane does not route the model, or serves another version: deploy it again. */
  | { kind: 'forgotten'; why: string }
  /** Routed, but replicas lag or none is live: they converge by themselves. */
  | { kind: 'behind'; why: string }
  /** No worker answered the check. */
  | { kind: 'unconfirmed'; why: string };

/** How long apply waits for a worker to say what an environment's data plane serves. */
const SERVING_CHECK_MS = 10_000;

/** One observe-only reconcile pass per environment, asked lazily and shared by its deployments. */
function servingConfirmations(client: Client, taskQueue: string) {
  const checks = new Map<string, Promise<ServingCheck>>();
  return async (deployment: DeploymentKey): Promise<ServingStanding> => {
    const { environment, model } = deployment;
    let check = checks.get(environment);
    if (!check) {
      check = checkServing(client, taskQueue, environment, SERVING_CHECK_MS);
      checks.set(environment, check);
    }
    const answer = await check;
    if ('error' in answer) return { kind: 'unconfirmed', why: answer.error };
    const serving = answer.report.serving[model];
    if (serving?.served) return { kind: 'served' };
    const why = serving?.why ?? 'the data plane does not serve it';
    const forgotten = answer.report.findings.some((f) => f.kind === 'not-served' && f.model === model);
    return forgotten ? { kind: 'forgotten', why } : { kind: 'behind', why };
  };
}

/** A run this apply started, and the deployment it is for (`model@environment`). */
interface Started {
  where: string;
  handle: WorkflowHandle;
  kind: 'deploy' | 'retire';
}

/** What `apply` does with a removed spec's deployment. */
export type RetireDecision =
  | { action: 'retire'; supersedes?: string }
  | { action: 'none'; why: 'already-retired' | 'retiring' };

/**
 * Retires each deployment (a removed spec's, or one no spec declares): nothing if its latest run
 * is a retirement (done or under way); otherwise cancel a running rollout and wait for it to
 * close (it rolls back), then start RetireModel under the same workflow id.
 */
export async function retireDeployments(context: {
  client: Client;
  taskQueue: string;
  repository: string;
  specs: { path: string; deployment: DeploymentKey }[];
  head: string;
  out: (line: string) => void;
}): Promise<{ decisions: ApplyReport['decisions']; started: Started[]; failed: boolean }> {
  const { client, head, out } = context;
  const decisions: ApplyReport['decisions'] = [];
  const started: Started[] = [];
  let failed = false;
  for (const spec of context.specs) {
    const { model, environment } = spec.deployment;
    const where = deploymentLabel(spec.deployment);
    const workflowId = deployModelWorkflowId(spec.deployment);
    const latest = await describeLatest(client, workflowId);
    if (latest?.type === 'RetireModel' && (latest.status === 'RUNNING' || latest.status === 'COMPLETED')) {
      const running = latest.status === 'RUNNING';
      decisions.push({
        path: spec.path,
        workflowId,
        decision: { action: 'none', why: running ? 'retiring' : 'already-retired' },
      });
      out(`apply: ${where}: ${running ? 'already being retired' : 'already retired'} (run ${latest.runId})`);
      continue;
    }
    let supersedes: string | undefined;
    if (latest?.status === 'RUNNING') {
      supersedes = latest.runId;
      out(
        `apply: ${where}: cancelling the run in progress (run ${latest.runId}); ${cancelEffect(await stageOf(client, workflowId, latest.runId))}`,
      );
      const closed = await supersede(client, workflowId, latest.runId);
      out(`apply: ${where}: previous rollout closed: ${closedText(closed)}`);
    }
    decisions.push({
      path: spec.path,
      workflowId,
      decision: { action: 'retire', ...(supersedes ? { supersedes } : {}) },
    });
    let handle: WorkflowHandle<typeof RetireModel>;
    try {
      handle = await startRetirement(client, context.taskQueue, {
        model,
        environment,
        commit: head,
        specPath: spec.path,
        repository: context.repository,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      out(`apply: ${where}: another run of ${workflowId} started meanwhile; not retiring`);
      failed = true;
      continue;
    }
    out(`apply: ${where}: retiring: started ${workflowId} (${spec.path} removed at ${shortId(head)})`);
    started.push({ where, handle, kind: 'retire' });
  }
  return { decisions, started, failed };
}

/** The latest run of a workflow id: its type, status and run id; undefined if it never ran. */
async function describeLatest(
  client: Client,
  workflowId: string,
): Promise<{ type: string; status: string; runId: string } | undefined> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return { type: description.type, status: description.status.name, runId: description.runId };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** DeployModel's input for a spec at `head`: the parsed spec and its text as committed there. */
export function toDeploymentInput(
  target: DeployableSpec,
  head: string,
  repository: string,
  author?: CommitAuthor,
): DeployModelInput {
  return {
    spec: target.spec,
    specText: target.specText,
    specDigest: target.specDigest,
    deployment: {
      model: target.spec.metadata.name,
      environment: target.spec.spec.rollout.environment,
      commit: head,
      specPath: target.path,
      repository,
      ...(author ? { author } : {}),
    },
  };
}

function keyOfSpec(target: DeployableSpec): DeploymentKey {
  return { model: target.spec.metadata.name, environment: target.spec.spec.rollout.environment };
}

/** The stage a running DeployModel reports; undefined when it cannot say (e.g. not started yet). */
async function stageOf(client: Client, workflowId: string, runId: string): Promise<string | undefined> {
  return client.workflow
    .getHandle<typeof DeployModel>(workflowId, runId)
    .query(statusQuery)
    .then((status) => status.stage)
    .catch(() => undefined);
}

/**
 * Cancels the running rollout and waits until it has closed: DeployModel rolls back in a
 * non-cancellable scope and completes, after which the id is free for the new run.
 */
async function supersede(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<ObservedRun | undefined> {
  const handle = client.workflow.getHandle(workflowId, runId);
  await handle.cancel();
  // The outcome is read below either way: a completed rollback and a plain cancellation both
  // close the run, and only closing matters here.
  await handle.result().catch(() => undefined);
  return observeLatestRun(client, workflowId);
}

function explain(
  decision: Extract<ApplyDecision, { action: 'none' | 'refuse' }>,
  latest?: ObservedRun,
): string {
  const commit = latest ? commitOf(latest) : 'an earlier commit';
  const reason = latest?.state === 'closed' && latest.reason ? ` (${latest.reason})` : '';
  switch (decision.why) {
    case 'rolling-out':
      return `already rolling out ${commit}`;
    case 'deployed':
      return `already deployed from ${commit}${latest?.state === 'closed' ? ` (${latest.outcome})` : ''}`;
    case 'rolled-back':
      return `spec unchanged since the automatic rollback of ${commit}${reason}; change the spec to deploy again`;
    case 'rejected':
      return `spec unchanged since the rejection of ${commit}${reason}; change the spec to deploy again`;
  }
}

function closedText(run: ObservedRun | undefined): string {
  if (run === undefined || run.state === 'running') return 'unknown';
  const what = run.outcome ?? run.status.toLowerCase();
  return run.reason ? `${what}: ${run.reason}` : what;
}

function problems(spec: SpecPlan): string[] {
  return [
    ...spec.errors.map(formatSpecError),
    ...spec.checks
      .filter((check) => check.status === 'failed')
      .flatMap((check) => [
        `${spec.path}  ${check.name}: ${check.detail}`,
        ...(check.findings ?? []).map((finding) => `${spec.path}    ${finding}`),
      ]),
  ];
}

function commitOf(run: ObservedRun): string {
  return run.commit ? shortId(run.commit) : `run ${run.runId}`;
}
