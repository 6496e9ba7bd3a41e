/**
 * FAST tier, stubbed activities (`test/support/stub-activities.ts`): the real DeployModel on the
 * real dev server, through every branch of the staged rollout loop that a verdict or a data-plane
 * answer decides: pass → promote, fail → roll back with the numbers, inconclusive → extend (the
 * same window) or roll back, a refused step, and infrastructure that gives out mid-rollout. The
 * verdicts are scripted; the judges have their own tests (`test/analysis`), and one real rollout
 * per outcome runs on live traffic in `rollout.test.ts`.
 */
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { statusQuery } from '../../workflows/messages.ts';
import {
  CANDIDATE_VERSION,
  failWith,
  healthy,
  STABLE_VERSION,
  verdict,
  watchAnswers,
} from '../support/stub-activities.ts';
import { type StubStack, startStubbedDeployment, startStubStack } from '../support/stub-stack.ts';

let stack: StubStack;

beforeAll(async () => {
  stack = await startStubStack('rollout-branches');
});

afterAll(async () => {
  await stack?.stop();
});

const CANARY = ['setWeight: 50', 'analysis: { duration: 1s, interval: 200ms }', 'setWeight: 100'];
const ROLLED_BACK = ['rollbackCandidate to stable', 'unload candidate'];

describe.concurrent('the staged rollout (stubbed activities)', () => {
  it('runs shadow, weight, pause and analysis in order, promotes, and releases stable after the window', async ({
    expect,
  }) => {
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-promote',
      steps: [
        'shadow: { duration: 1s, minAgreement: 0.95 }',
        'setWeight: 20',
        'pause: { duration: 1s }',
        'analysis: { duration: 2s, interval: 500ms }',
        'setWeight: 100',
      ],
    });
    const result = await handle.result();

    expect(result.outcome).toBe('promoted');
    expect(result.summary).toBe(
      `rb-promote@staging promoted version ${CANDIDATE_VERSION} (was ${STABLE_VERSION}) after 5 steps`,
    );
    expect(result.dataPlane).toEqual({ version: CANDIDATE_VERSION, stable: CANDIDATE_VERSION });
    expect(result.rollback).toBeUndefined();
    expect(run.dataPlane()).toEqual([
      'load',
      'mirror to candidate',
      'stop mirroring',
      'setCandidateWeight candidate 20',
      'setCandidateWeight candidate 100',
      'promote candidate',
      'unload stable',
    ]);
    expect(run.inputsOf('watchCandidate')).toMatchObject([
      {
        mode: 'shadow',
        stable: STABLE_VERSION,
        candidate: CANDIDATE_VERSION,
        durationMs: 1_000,
        minAgreement: 0.95,
        candidateWeight: 0,
      },
      {
        mode: 'analysis',
        stable: STABLE_VERSION,
        candidate: CANDIDATE_VERSION,
        durationMs: 2_000,
        intervalMs: 500,
        candidateWeight: 20,
      },
    ]);
    expect(run.inputsOf('watchCandidate').map((input) => input.resume)).toEqual([undefined, undefined]);
    expect(run.stages().slice(5)).toEqual([
      'shadow',
      'canary',
      'paused',
      'analysis',
      'canary',
      'promoting',
      'promoted',
    ]);
    expect(run.decisions()).toEqual([
      'rollout.estimated',
      'shadow.pass',
      'analysis.pass',
      'deployment.promoted',
    ]);
    expect((await handle.query(statusQuery)).stage).toBe('promoted');
  });

  it('rolls a failing canary back with the reason and the verdict behind it', async ({ expect }) => {
    const failed = verdict('fail', 'error rate 0.2 above the limit 0.01 (40/200 requests)');
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-fail',
      steps: CANARY,
      script: { watchCandidate: watchAnswers(failed) },
    });
    const result = await handle.result();

    const reason = `step 2 (analysis) failed: ${failed.reason}`;
    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback).toEqual({ reason, verdict: failed });
    expect(result.summary).toBe(`rb-fail@staging rolled back to ${STABLE_VERSION}: ${reason}`);
    expect(result.dataPlane).toEqual({ version: CANDIDATE_VERSION, stable: STABLE_VERSION });
    expect(run.dataPlane()).toEqual(['load', 'setCandidateWeight candidate 50', ...ROLLED_BACK]);
    expect(run.inputsOf('rollbackCandidate')[0]).toMatchObject({ reason, toVersion: STABLE_VERSION });
    expect(run.decisions()).toEqual(['rollout.estimated', 'analysis.fail', 'deployment.rolled-back']);
    expect(run.decision('deployment.rolled-back')).toMatchObject({
      reason,
      stable: STABLE_VERSION,
      candidate: CANDIDATE_VERSION,
      metrics: failed.metrics,
    });
    expect(run.stages().slice(-2)).toEqual(['rolling-back', 'rolled-back']);
    expect((await handle.query(statusQuery)).stage).toBe('rolled-back');
  });

  it('extends an inconclusive analysis over the same window, as long again each time, until it passes', async ({
    expect,
  }) => {
    const thin = verdict('inconclusive', 'too little traffic: 12 of 100 requests');
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-extend',
      steps: CANARY,
      script: { watchCandidate: watchAnswers(thin, thin, verdict('pass', 'error rate shown below 1 %')) },
    });
    const result = await handle.result();

    expect(result.outcome).toBe('promoted');
    const watches = run.inputsOf('watchCandidate');
    expect(watches.map((input) => input.durationMs)).toEqual([1_000, 2_000, 3_000]);
    // An extension resumes the first watch's window instead of starting over.
    const [first, ...extensions] = watches;
    expect(first?.resume).toBeUndefined();
    expect(extensions.map((input) => input.resume)).toEqual([
      { startedAtMs: 1_000, baseline: {} },
      { startedAtMs: 1_000, baseline: {} },
    ]);
    expect(run.decisions()).toEqual([
      'rollout.estimated',
      'analysis.inconclusive',
      'analysis.inconclusive',
      'analysis.pass',
      'deployment.promoted',
    ]);
    const recorded = run.inputsOf('recordDecision').filter((input) => input.decision.startsWith('analysis.'));
    expect(recorded.map((input) => input.details?.extension)).toEqual([undefined, 1, 2]);
    expect(run.dataPlane()).toEqual([
      'load',
      'setCandidateWeight candidate 50',
      'setCandidateWeight candidate 100',
      'promote candidate',
      'unload stable',
    ]);
  });

  it('rolls back an analysis still inconclusive after maxExtensions: too little evidence is never a pass', async ({
    expect,
  }) => {
    const thin = verdict('inconclusive', 'too little traffic: 12 of 100 requests');
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-inconclusive',
      steps: CANARY,
      analysis: '  analysis:\n    maxExtensions: 1\n',
      script: { watchCandidate: watchAnswers(thin, thin, verdict('pass', 'never asked')) },
    });
    const result = await handle.result();

    const reason = `step 2 (analysis) inconclusive after 1 extension: ${thin.reason}`;
    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback).toEqual({ reason, verdict: thin });
    expect(run.inputsOf('watchCandidate').map((input) => input.durationMs)).toEqual([1_000, 2_000]);
    expect(run.dataPlane()).toEqual(['load', 'setCandidateWeight candidate 50', ...ROLLED_BACK]);
    expect(run.decisions()).toEqual([
      'rollout.estimated',
      'analysis.inconclusive',
      'analysis.inconclusive',
      'deployment.rolled-back',
    ]);
  });

  it('rolls back a candidate whose shadow answers disagree, after mirroring stops', async ({ expect }) => {
    const disagrees = verdict('fail', 'agreement 0.71 below 0.95 (142/200 mirrored rows)', [
      {
        name: 'agreement',
        method: 'shadow',
        unit: 'fraction',
        stable: null,
        candidate: 0.71,
        limit: '≥ 0.95',
        passed: false,
      },
    ]);
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-shadow',
      steps: ['shadow: { duration: 1s, minAgreement: 0.95 }', 'setWeight: 100'],
      script: { watchCandidate: watchAnswers(disagrees) },
    });
    const result = await handle.result();

    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback).toEqual({
      reason: `step 1 (shadow) failed: ${disagrees.reason}`,
      verdict: disagrees,
    });
    expect(run.dataPlane()).toEqual(['load', 'mirror to candidate', 'stop mirroring', ...ROLLED_BACK]);
    expect(run.inputsOf('watchCandidate')).toMatchObject([{ mode: 'shadow', minAgreement: 0.95 }]);
    // No analysis step: nothing to size, so no estimate is asked for.
    expect(run.decisions()).toEqual(['shadow.fail', 'deployment.rolled-back']);
  });

  it('rolls back when the data plane refuses a step, with its message', async ({ expect }) => {
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-refused',
      steps: CANARY,
      script: { setCandidateWeight: failWith('DataPlaneRejected', 'version ca0d1da7e000 is not loaded') },
    });
    const result = await handle.result();

    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback?.reason).toBe('the data plane refused a step: version ca0d1da7e000 is not loaded');
    // Refused means final: one attempt, then stable back.
    expect(run.dataPlane()).toEqual(['load', 'setCandidateWeight candidate 50', ...ROLLED_BACK]);
  });

  it('restores stable before failing when infrastructure gives out mid-rollout', async ({ expect }) => {
    const { handle, run } = await infrastructureGivesOut();
    const failure = await handle.result().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    // The run fails with the activity's failure, whose cause is what the data plane said.
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause?.message).toContain('retries exhausted');
    expect(run.dataPlane()).toEqual([
      'load',
      'setCandidateWeight candidate 50',
      'setCandidateWeight candidate 100',
      'setCandidateWeight candidate 100',
      ...ROLLED_BACK,
    ]);
    expect(run.decision('deployment.rolled-back')?.reason).toMatch(/^the rollout failed: /);
    expect(run.decisions()).not.toContain('deployment.promoted');
    expect((await handle.query(statusQuery)).stage).toBe('rolled-back');
  });

  it('goes on without step estimates when they cannot be made, and says so in the audit', async ({
    expect,
  }) => {
    const { handle, run } = await estimatesUnavailable();
    const result = await handle.result();

    expect(result.outcome).toBe('promoted');
    // Advice gets a few quick tries (its retry policy), then the rollout moves on without it.
    expect(
      run.calls.filter((call) => call.name === 'estimateAnalysisSteps').map((call) => call.attempt),
    ).toEqual([1, 2, 3]);
    expect(run.decisions()).toEqual(['rollout.estimate-unavailable', 'analysis.pass', 'deployment.promoted']);
  });
});

// The audit names the cause of an activity's failure, not the wrapper's text ("ActivityFailure:
// Activity task failed"), which tells a person nothing.
describe.concurrent('durations written in microseconds', () => {
  it('rolls out a spec whose pause and post-promotion window are written in microseconds', async ({
    expect,
  }) => {
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'rb-micro',
      steps: ['setWeight: 50', 'pause: { duration: 500us }', 'setWeight: 100'],
      postPromotionWindow: '500us',
    });
    const result = await handle.result();

    expect(result.outcome).toBe('promoted');
    expect((await handle.query(statusQuery)).rollout?.steps).toContain('pause 500us');
    // The pause and the window are real timers of half a millisecond: both ran, in order.
    expect(run.stages().slice(5)).toEqual(['canary', 'paused', 'canary', 'promoting', 'promoted']);
    expect(run.dataPlane()).toEqual([
      'load',
      'setCandidateWeight candidate 50',
      'setCandidateWeight candidate 100',
      'promote candidate',
      'unload stable',
    ]);
  });
});

describe.concurrent('audited reasons name the cause, not the wrapper', () => {
  it('the rollback after an infrastructure failure names what failed', async ({ expect }) => {
    const { handle, run } = await infrastructureGivesOut();
    await handle.result().catch(() => undefined);
    expect(run.decision('deployment.rolled-back')?.reason).toContain('retries exhausted');
  });

  it('an unavailable estimate names why', async ({ expect }) => {
    const { handle, run } = await estimatesUnavailable();
    await handle.result();
    expect(run.decision('rollout.estimate-unavailable')?.reason).toContain('data plane metrics unreachable');
  });
});

/** Runs a scenario once, however many tests look at it. */
function shared<T>(start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  return () => {
    started ??= start();
    return started;
  };
}

/** setWeight 100 fails as infrastructure: retried once, then the last attempt gives up. */
const infrastructureGivesOut = shared(() =>
  startStubbedDeployment(stack, {
    model: 'rb-infra',
    steps: CANARY,
    script: {
      setCandidateWeight: (input, attempt) => {
        if (input.weight < 100) return healthy.setCandidateWeight(input, attempt);
        // Trouble that is not the model's fault is retried; the second attempt stands for the
        // last one the retry policy allows (30 of them would take minutes).
        if (attempt === 1) throw new Error('connect ECONNREFUSED 127.0.0.1:8081');
        throw ApplicationFailure.create({
          type: 'ConnectionRefused',
          message: 'connect ECONNREFUSED 127.0.0.1:8081 (retries exhausted)',
          nonRetryable: true,
        });
      },
    },
  }),
);

/** The step estimate fails on every attempt. */
const estimatesUnavailable = shared(() =>
  startStubbedDeployment(stack, {
    model: 'rb-no-estimate',
    steps: CANARY,
    script: {
      estimateAnalysisSteps: () => {
        throw new Error('data plane metrics unreachable');
      },
    },
  }),
);
