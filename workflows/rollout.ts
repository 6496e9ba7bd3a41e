/**
 * The staged rollout of a candidate next to a stable version: the loop that asks the pure
 * planner (`rollout-plan.ts`) what to do next, does it through activities, and records what
 * happened. It never decides by itself; it ends with `promote` or `rollback` as planned, and
 * the caller carries out a rollback in a non-cancellable scope.
 */
import { condition, patched, sleep } from '@temporalio/workflow';
import type { DeploymentRef } from '../activities/deployment.ts';
import type { WatchCandidateResult, WatchStart } from '../activities/monitor.ts';
import type { AnalysisEstimate } from '../activities/step-estimates.ts';
import type { Verdict } from '../analysis/judge.ts';
import { verdictLine } from '../analysis/report.ts';
import { parseDuration } from '../specs/duration.ts';
import type { ModelDeployment, Step } from '../specs/schema.ts';
import { dataPlane, estimateAnalysisSteps, recordDecision, watchCandidate } from './activity-proxies.ts';
import { type ApproveInput, approvalProblem, type PendingApproval } from './approval.ts';
import {
  initialProgress,
  planNextStep,
  type RolloutProgress,
  recordStepResult,
  type WatchStep,
} from './rollout-plan.ts';
import { type DeploymentStatus, estimateLines, type PipelineStage } from './status.ts';

/** Approval messages land here (from the update or the signal) for the loop to pick up. */
export interface ApprovalInbox {
  pending: PendingApproval | undefined;
  decision: ApproveInput | undefined;
  /** The environment policy's four-eyes rule, once read; undefined: production only. */
  fourEyes?: boolean;
}

export interface RolloutContext {
  deployment: DeploymentRef;
  spec: ModelDeployment;
  stable: string;
  candidate: string;
  status: DeploymentStatus;
  inbox: ApprovalInbox;
  /** Moves to a stage: search attribute, current details and an audited decision. */
  enter(stage: PipelineStage): Promise<void>;
  /** Refreshes the current details after a change that is not a stage. */
  publish(): void;
}

export type RolloutEnd =
  | { outcome: 'promoted' }
  | { outcome: 'rolled-back'; reason: string; verdict?: Verdict };

/** How a step reads in the status and the Web UI. */
export function describeStep(step: Step): string {
  switch (step.type) {
    case 'shadow':
      return `shadow ${step.duration} (agreement ≥ ${step.minAgreement})`;
    case 'setWeight':
      return `setWeight ${step.weight}%`;
    case 'pause':
      return `pause ${step.duration}`;
    case 'analysis':
      return `analysis ${step.duration}`;
    case 'approval':
      return `approval by ${step.approvers.join(' or ')}`;
  }
}

/** Reads during a shadow step (it has no `interval` of its own): often enough to fail early. */
function shadowInterval(durationMs: number): number {
  return Math.max(200, Math.min(5_000, Math.floor(durationMs / 4)));
}

async function watch(
  ctx: RolloutContext,
  step: WatchStep,
  canaryWeight: number,
  durationMs: number,
  resume: WatchStart | undefined,
): Promise<WatchCandidateResult> {
  const { deployment, spec, stable, candidate } = ctx;
  const common = {
    deployment,
    stable,
    candidate,
    durationMs,
    analysis: spec.spec.analysis,
    candidateWeight: canaryWeight,
    ...(resume ? { resume } : {}),
  };
  if (step.type === 'shadow') {
    await ctx.enter('shadow');
    await dataPlane.mirrorToCandidate({ deployment, version: candidate });
    ctx.status.rollout = { ...(ctx.status.rollout ?? emptyRollout(ctx)), shadow: true };
    ctx.publish();
    try {
      return await watchCandidate({
        ...common,
        mode: 'shadow',
        intervalMs: shadowInterval(durationMs),
        minAgreement: step.minAgreement,
      });
    } finally {
      // Stop mirroring even when the watch failed; a rollback clears it again, harmlessly.
      await dataPlane.stopMirroring({ deployment });
      ctx.status.rollout = { ...(ctx.status.rollout ?? emptyRollout(ctx)), shadow: false };
    }
  }
  await ctx.enter('analysis');
  return watchCandidate({ ...common, mode: 'analysis', intervalMs: parseDuration(step.interval) });
}

function emptyRollout(ctx: RolloutContext): NonNullable<DeploymentStatus['rollout']> {
  return {
    steps: ctx.spec.spec.rollout.steps.map(describeStep),
    stepIndex: 0,
    canaryWeight: 0,
    shadow: false,
    extensions: 0,
  };
}

async function awaitApproval(ctx: RolloutContext, step: Extract<Step, { type: 'approval' }>, index: number) {
  const { status, inbox } = ctx;
  inbox.decision = undefined;
  inbox.pending = {
    stepIndex: index,
    approvers: step.approvers,
    ...(step.description ? { description: step.description } : {}),
  };
  status.waitingFor = {
    stepIndex: index,
    approvers: step.approvers,
    until: new Date(Date.now() + parseDuration(step.timeout)).toISOString(),
    ...(step.description ? { description: step.description } : {}),
  };
  await ctx.enter('awaiting-approval');
  // Read through a function: the handlers set the decision behind the type checker's back.
  const received = (): ApproveInput | undefined => inbox.decision;
  const decided = await condition(() => received() !== undefined, parseDuration(step.timeout));
  const decision = received();
  inbox.pending = undefined;
  inbox.decision = undefined;
  delete status.waitingFor;
  const at = new Date().toISOString();
  if (!decided || !decision) {
    status.approvals.push({ stepIndex: index, approver: 'nobody', decision: 'timeout', at });
    await recordDecision({
      deployment: ctx.deployment,
      decision: 'approval.timed-out',
      details: { step: index + 1, timeout: step.timeout, approvers: step.approvers },
    });
    return { decision: 'timeout' as const };
  }
  status.approvals.push({
    stepIndex: index,
    approver: decision.approver,
    decision: decision.decision,
    at,
    ...(decision.comment ? { comment: decision.comment } : {}),
  });
  await recordDecision({
    deployment: ctx.deployment,
    decision: decision.decision === 'approve' ? 'approval.approved' : 'approval.rejected',
    actor: decision.approver,
    details: { step: index + 1, ...(decision.comment ? { comment: decision.comment } : {}) },
  });
  return {
    decision: decision.decision,
    approver: decision.approver,
    ...(decision.comment ? { comment: decision.comment } : {}),
  };
}

/** Accepts an approval message if the step it targets allows its sender; returns why not otherwise. */
export function offerApproval(
  ctx: Pick<RolloutContext, 'inbox' | 'deployment'>,
  input: ApproveInput,
): string | undefined {
  const problem = approvalProblem(input, ctx.inbox.pending, {
    environment: ctx.deployment.environment,
    author: ctx.deployment.author,
    fourEyes: ctx.inbox.fourEyes,
  });
  if (!problem) ctx.inbox.decision = input;
  return problem;
}

/**
 * Sizes the analysis steps before any traffic moves, for people: the status, the Web UI and the
 * audit say which steps are too short for a verdict at the traffic there is. Advice only: an
 * estimate that cannot be made (data plane unreachable) is recorded as such and the rollout goes on.
 */
async function estimateSteps(ctx: RolloutContext): Promise<void> {
  const { deployment, spec, stable, status } = ctx;
  const steps = spec.spec.rollout.steps;
  if (!steps.some((step) => step.type === 'analysis')) return;
  let estimate: AnalysisEstimate;
  try {
    estimate = await estimateAnalysisSteps({ deployment, stable, steps, analysis: spec.spec.analysis });
  } catch (error) {
    await recordDecision({
      deployment,
      decision: 'rollout.estimate-unavailable',
      details: { reason: (error as Error).message },
    });
    return;
  }
  if (status.rollout) status.rollout.estimates = estimate;
  ctx.publish();
  await recordDecision({
    deployment,
    decision: 'rollout.estimated',
    details: { traffic: estimate.traffic, steps: estimate.steps, summary: estimateLines(estimate) },
  });
}

/** Runs the spec's steps against the data plane until the planner says promote or roll back. */
export async function runRollout(ctx: RolloutContext): Promise<RolloutEnd> {
  const { deployment, spec, candidate, status } = ctx;
  const steps = spec.spec.rollout.steps;
  status.rollout = emptyRollout(ctx);
  // Added after rollouts had run: histories from before it have no estimate activity to replay.
  if (patched('analysis-step-estimates')) await estimateSteps(ctx);
  let progress: RolloutProgress = initialProgress();
  let watchStart: WatchStart | undefined;
  const planOptions = { maxExtensions: spec.spec.analysis.maxExtensions };
  for (;;) {
    const action = planNextStep(steps, progress, planOptions);
    const rollout = status.rollout;
    if ('index' in action) rollout.stepIndex = action.index;
    rollout.extensions = progress.extensions;
    switch (action.kind) {
      case 'promote':
        rollout.stepIndex = steps.length;
        await ctx.enter('promoting');
        await dataPlane.promoteCandidate({ deployment, version: candidate });
        return { outcome: 'promoted' };
      case 'rollback':
        return {
          outcome: 'rolled-back',
          reason: action.reason,
          ...(action.verdict ? { verdict: action.verdict } : {}),
        };
      case 'setWeight':
        await ctx.enter('canary');
        await dataPlane.setCandidateWeight({ deployment, version: candidate, weight: action.step.weight });
        rollout.canaryWeight = action.step.weight;
        progress = recordStepResult(progress, {
          index: action.index,
          type: 'setWeight',
          weight: action.step.weight,
        });
        break;
      case 'pause':
        await ctx.enter('paused');
        await sleep(action.step.duration);
        progress = recordStepResult(progress, { index: action.index, type: 'pause' });
        break;
      case 'approval': {
        const approval = await awaitApproval(ctx, action.step, action.index);
        progress = recordStepResult(progress, { index: action.index, type: 'approval', approval });
        break;
      }
      case 'shadow':
      case 'analysis':
      case 'extend': {
        const step: WatchStep = action.step;
        const extending = action.kind === 'extend';
        const durationMs = extending ? action.watchMs : parseDuration(step.duration);
        const result = await watch(
          ctx,
          step,
          action.canaryWeight,
          durationMs,
          extending ? watchStart : undefined,
        );
        watchStart = result.start;
        status.lastVerdict = { stepIndex: action.index, verdict: result.verdict };
        await recordDecision({
          deployment,
          decision: `${step.type}.${result.verdict.outcome}`,
          details: {
            step: action.index + 1,
            summary: verdictLine(result.verdict),
            metrics: result.verdict.metrics,
            ...(extending ? { extension: action.extension } : {}),
          },
        });
        progress = recordStepResult(progress, {
          index: action.index,
          type: step.type,
          verdict: result.verdict,
        });
        break;
      }
    }
    ctx.publish();
  }
}
