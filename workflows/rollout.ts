/**
 * The staged rollout of a candidate next to a stable version: the loop that asks the pure
 * planner (`rollout-plan.ts`) what to do next, does it through activities, and records what
 * happened in the run's state (`DeploymentRun`). It never decides by itself; it ends with
 * `promote` or `rollback` as planned, and the caller carries out a rollback in a
 * non-cancellable scope. Durations come from the parsed spec in milliseconds: nothing here
 * parses text.
 */
import { patched, sleep } from '@temporalio/workflow';
import type { WatchCandidateResult, WatchStart } from '../activities/monitor.ts';
import type { AnalysisEstimate } from '../activities/step-estimates.ts';
import type { Verdict } from '../analysis/judge.ts';
import { verdictLine } from '../analysis/report.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { dataPlane, estimateAnalysisSteps, recordDecision, watchCandidate } from './activity-proxies.ts';
import type { DeploymentRun } from './deployment-run.ts';
import { initialRollout, type RolloutState } from './deployment-state.ts';
import { failureText } from './failure-text.ts';
import { planNextStep, recordStepResult, type WatchStep } from './rollout-plan.ts';
import { estimateLines } from './status.ts';

export interface RolloutContext {
  deployment: DeploymentRef;
  spec: ModelDeployment;
  stable: string;
  candidate: string;
  /** The run's state and handlers; the only place the rollout writes what happened. */
  run: DeploymentRun;
}

type RolloutEnd = { outcome: 'promoted' } | { outcome: 'rolled-back'; reason: string; verdict?: Verdict };

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
  const { deployment, spec, stable, candidate, run } = ctx;
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
    await run.enter('shadow');
    await dataPlane.mirrorToCandidate({ deployment, version: candidate });
    run.updateRollout({ shadow: true });
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
      run.updateRollout({ shadow: false });
    }
  }
  await run.enter('analysis');
  return watchCandidate({ ...common, mode: 'analysis', intervalMs: step.intervalMs });
}

/** What a shadow step measured, kept for people after later steps ran. */
function shadowAgreementOf(
  step: WatchStep,
  index: number,
  verdict: Verdict,
): RolloutState['shadowAgreement'] | undefined {
  if (step.type !== 'shadow') return undefined;
  const metric = verdict.metrics.find((m) => m.name === 'agreement');
  return {
    stepIndex: index,
    agreement: metric?.candidate ?? null,
    minAgreement: step.minAgreement,
    ...(metric?.evidence ? { evidence: metric.evidence } : {}),
  };
}

/**
 * Sizes the analysis steps before any traffic moves, for people: the status, the Web UI and the
 * audit say which steps are too short for a verdict at the traffic there is. Advice only: an
 * estimate that cannot be made (data plane unreachable) is recorded as such and the rollout goes on.
 */
async function estimateSteps(ctx: RolloutContext): Promise<void> {
  const { deployment, spec, stable, run } = ctx;
  const steps = spec.spec.rollout.steps;
  if (!steps.some((step) => step.type === 'analysis')) return;
  let estimate: AnalysisEstimate;
  try {
    estimate = await estimateAnalysisSteps({ deployment, stable, steps, analysis: spec.spec.analysis });
  } catch (error) {
    await recordDecision({
      deployment,
      decision: 'rollout.estimate-unavailable',
      details: { reason: failureText(error) },
    });
    return;
  }
  run.updateRollout({ estimates: estimate });
  await recordDecision({
    deployment,
    decision: 'rollout.estimated',
    details: { traffic: estimate.traffic, steps: estimate.steps, summary: estimateLines(estimate) },
  });
}

/** Runs the spec's steps against the data plane until the planner says promote or roll back. */
export async function runRollout(ctx: RolloutContext): Promise<RolloutEnd> {
  const { deployment, spec, candidate, run } = ctx;
  const steps = spec.spec.rollout.steps;
  run.startRollout(initialRollout(steps));
  // Added after rollouts had run: histories from before it have no estimate activity to replay.
  if (patched('analysis-step-estimates')) await estimateSteps(ctx);
  let watchStart: WatchStart | undefined;
  const planOptions = { maxExtensions: spec.spec.analysis.maxExtensions };
  for (;;) {
    const progress = run.rollout.progress;
    const action = planNextStep(steps, progress, planOptions);
    switch (action.kind) {
      case 'promote':
        await run.enter('promoting');
        await dataPlane.promoteCandidate({ deployment, version: candidate });
        return { outcome: 'promoted' };
      case 'rollback':
        return {
          outcome: 'rolled-back',
          reason: action.reason,
          ...(action.verdict ? { verdict: action.verdict } : {}),
        };
      case 'setWeight': {
        const { weight } = action.step;
        // The weight and who gets it are audited with the stage: the history of what served
        // when reads them there. Only the decision's details change, so older histories replay.
        const bundleDigest = run.state.bundle?.digest;
        await run.enter('canary', { weight, version: candidate, ...(bundleDigest ? { bundleDigest } : {}) });
        await dataPlane.setCandidateWeight({ deployment, version: candidate, weight });
        run.updateRollout({
          progress: recordStepResult(progress, { index: action.index, type: 'setWeight', weight }),
        });
        break;
      }
      case 'pause':
        await run.enter('paused');
        await sleep(action.step.durationMs);
        run.updateRollout({ progress: recordStepResult(progress, { index: action.index, type: 'pause' }) });
        break;
      case 'approval': {
        const approval = await run.awaitApproval(action.step, action.index);
        run.updateRollout({
          progress: recordStepResult(progress, { index: action.index, type: 'approval', approval }),
        });
        break;
      }
      case 'shadow':
      case 'analysis':
      case 'extend': {
        const step: WatchStep = action.step;
        const extending = action.kind === 'extend';
        const durationMs = extending ? action.watchMs : step.durationMs;
        const result = await watch(
          ctx,
          step,
          action.canaryWeight,
          durationMs,
          extending ? watchStart : undefined,
        );
        watchStart = result.start;
        const { verdict } = result;
        const shadowAgreement = shadowAgreementOf(step, action.index, verdict);
        run.updateRollout({
          progress: recordStepResult(progress, { index: action.index, type: step.type, verdict }),
          ...(shadowAgreement ? { shadowAgreement } : {}),
        });
        await recordDecision({
          deployment,
          decision: `${step.type}.${verdict.outcome}`,
          details: {
            step: action.index + 1,
            summary: verdictLine(verdict),
            metrics: verdict.metrics,
            ...(extending ? { extension: action.extension } : {}),
          },
        });
        break;
      }
    }
  }
}

/** Stable back to 100 %, candidate drained and unloaded, the reason audited. Safe to repeat. */
export async function rollBack(ctx: RolloutContext, reason: string, verdict?: Verdict): Promise<void> {
  const { deployment, stable, candidate, run } = ctx;
  await run.enter('rolling-back');
  await dataPlane.rollbackCandidate({ deployment, reason, toVersion: stable });
  await dataPlane.unloadFromDataPlane({ deployment, version: candidate });
  run.rolledBack(reason);
  await run.enter('rolled-back');
  await recordDecision({
    deployment,
    decision: 'deployment.rolled-back',
    details: {
      reason,
      stable,
      candidate,
      // The model artifact and the verdict's outcome: a failed verdict quarantines the artifact.
      artifactSha256: ctx.spec.spec.model.sha256,
      ...(verdict ? { verdict: verdict.outcome, metrics: verdict.metrics, judge: verdict.judge } : {}),
    },
  });
}
