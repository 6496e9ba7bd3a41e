/**
 * FAST tier, stubbed activities (`test/support/stub-activities.ts`): the real DeployModel on the
 * real dev server, cancelled (`WorkflowHandle.cancel()`, as `apply` does when a newer commit
 * supersedes a rollout) inside each kind of step. Every cancellation before the promotion rolls
 * back: stable restored, then the candidate unloaded, in a scope the cancellation cannot reach.
 * During the post-promotion window the promotion stands. Stubs held inside a step
 * (`held`) pin the moment of the cancellation.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { type ActivityName, healthy, held, verdict, watchAnswers } from '../support/stub-activities.ts';
import {
  type StubDeployment,
  type StubStack,
  startStubbedDeployment,
  startStubStack,
  waitForStage,
} from '../support/stub-stack.ts';

let stack: StubStack;

beforeAll(async () => {
  stack = await startStubStack('cancel-branches');
});

afterAll(async () => {
  await stack?.stop();
});

const ROLLED_BACK = ['rollbackCandidate to stable', 'unload candidate'];
const CANCELLED = 'the rollout was cancelled (superseded by a newer commit, or by an operator)';

/** Starts a rollout, cancels it once `reached` resolves, and returns how it ended. */
async function cancelledAt(
  options: StubDeployment,
  reached: (handle: WorkflowHandle<typeof DeployModel>) => Promise<unknown>,
  release?: () => void,
) {
  const { handle, run } = await startStubbedDeployment(stack, options);
  await reached(handle);
  await handle.cancel();
  try {
    return { handle, run, result: await handle.result() };
  } finally {
    // A held stub answers only now, long after the workflow stopped waiting for it.
    release?.();
  }
}

/** A run held inside `name` until cancelled: the stub waits, the test cancels. */
function heldIn<K extends ActivityName>(name: K) {
  const stub = held(healthy[name]);
  return { script: { [name]: stub.handler }, entered: () => stub.entered, release: stub.release };
}

/** What every cancellation before the promotion leaves: stable restored, then the candidate unloaded. */
async function expectRolledBack(
  expect: ExpectStatic,
  { handle, run, result }: Awaited<ReturnType<typeof cancelledAt>>,
  before: string[],
) {
  expect(result.outcome).toBe('rolled-back');
  expect(result.rollback).toEqual({ reason: CANCELLED });
  expect(run.dataPlane()).toEqual([...before, ...ROLLED_BACK]);
  expect(run.decision('deployment.rolled-back')).toMatchObject({ reason: CANCELLED });
  expect(run.decisions()).not.toContain('deployment.promoted');
  expect(run.stages().slice(-2)).toEqual(['rolling-back', 'rolled-back']);
  expect((await handle.query(statusQuery)).stage).toBe('rolled-back');
}

const CANARY = ['setWeight: 50', 'analysis: { duration: 1m, interval: 1s }', 'setWeight: 100'];

describe.concurrent('cancelling a rollout (stubbed activities)', () => {
  it('rolls back when cancelled while a weight is being set', async ({ expect }) => {
    const hold = heldIn('setCandidateWeight');
    const ended = await cancelledAt(
      { model: 'cb-weight', steps: CANARY, script: hold.script },
      hold.entered,
      hold.release,
    );
    await expectRolledBack(expect, ended, ['load', 'setCandidateWeight candidate 50']);
  });

  it('rolls back when cancelled during a pause', async ({ expect }) => {
    const ended = await cancelledAt(
      { model: 'cb-pause', steps: ['setWeight: 20', 'pause: { duration: 1h }', 'setWeight: 100'] },
      (handle) => waitingIn(handle, 'paused'),
    );
    await expectRolledBack(expect, ended, ['load', 'setCandidateWeight candidate 20']);
  });

  it('rolls back when cancelled while the shadow is watched', async ({ expect }) => {
    const hold = heldIn('watchCandidate');
    const ended = await cancelledAt(
      { model: 'cb-shadow', steps: ['shadow: { duration: 1m }', 'setWeight: 100'], script: hold.script },
      hold.entered,
      hold.release,
    );
    // Whether mirroring is stopped on its own first does not matter: the rollback clears it.
    const withoutStop = ended.run.dataPlane().filter((call) => call !== 'stop mirroring');
    expect(withoutStop).toEqual(['load', 'mirror to candidate', ...ROLLED_BACK]);
    expect(ended.result).toMatchObject({ outcome: 'rolled-back', rollback: { reason: CANCELLED } });
  });

  it('rolls back when cancelled while the analysis watches the canary', async ({ expect }) => {
    const hold = heldIn('watchCandidate');
    const ended = await cancelledAt(
      { model: 'cb-analysis', steps: CANARY, script: hold.script },
      hold.entered,
      hold.release,
    );
    await expectRolledBack(expect, ended, ['load', 'setCandidateWeight candidate 50']);
    expect(ended.run.decisions()).not.toContain('analysis.pass');
  });

  it('rolls back when cancelled while waiting for an approval', async ({ expect }) => {
    const ended = await cancelledAt(
      {
        model: 'cb-approval',
        steps: ['setWeight: 50', 'approval: { approvers: [alice], timeout: 1h }', 'setWeight: 100'],
      },
      (handle) => waitingIn(handle, 'awaiting-approval'),
    );
    await expectRolledBack(expect, ended, ['load', 'setCandidateWeight candidate 50']);
  });

  it('keeps the promotion when cancelled during the post-promotion window, and leaves stable loaded', async ({
    expect,
  }) => {
    const { run, result, handle } = await cancelledAt(
      { model: 'cb-window', steps: ['setWeight: 50', 'setWeight: 100'], postPromotionWindow: '1h' },
      (started) => waitingIn(started, 'promoted'),
    );
    expect(result.outcome).toBe('promoted');
    expect(result.rollback).toBeUndefined();
    // The newer run decides about the previous stable; this one neither rolls back nor unloads it.
    expect(run.dataPlane()).toEqual([
      'load',
      'setCandidateWeight candidate 50',
      'setCandidateWeight candidate 100',
      'promote candidate',
    ]);
    expect(run.decisions()).toEqual(['deployment.promoted']);
    expect((await handle.query(statusQuery)).stage).toBe('promoted');
  });

  it('finishes a rollback already under way when cancelled during it', async ({ expect }) => {
    const failed = verdict('fail', 'error rate 0.2 above the limit 0.01 (40/200 requests)');
    const rollback = held(healthy.rollbackCandidate);
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'cb-during-rollback',
      steps: CANARY,
      script: { watchCandidate: watchAnswers(failed), rollbackCandidate: rollback.handler },
    });
    await rollback.entered;
    await handle.cancel();
    // The workflow has seen the cancellation before the data plane answers.
    await waitForCancelSeen(handle);
    rollback.release();
    const result = await handle.result();

    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback?.reason).toBe(`step 2 (analysis) failed: ${failed.reason}`);
    expect(run.dataPlane()).toEqual(['load', 'setCandidateWeight candidate 50', ...ROLLED_BACK]);
    expect(run.decisions().at(-1)).toBe('deployment.rolled-back');
  });
});

// Between `promoteCandidate` and the window's timer the promotion is recorded in a
// non-cancellable scope: a cancellation landing then must not leave the run Cancelled, with no
// result and no `deployment.promoted` in the audit, while the candidate is stable on the data plane.
describe('a cancellation while the promotion is being recorded', () => {
  it('keeps the promotion', async ({ expect }) => {
    const hold = held(healthy.recordDecision);
    const { handle } = await startStubbedDeployment(stack, {
      model: 'cb-promoting',
      steps: ['setWeight: 50', 'setWeight: 100'],
      postPromotionWindow: '1h',
      script: {
        recordDecision: (input, attempt) =>
          input.decision === 'deployment.promoted'
            ? hold.handler(input, attempt)
            : healthy.recordDecision(input, attempt),
      },
    });
    await hold.entered;
    await handle.cancel();
    await waitForCancelSeen(handle);
    hold.release();
    expect((await handle.result()).outcome).toBe('promoted');
  });
});

/**
 * Resolves once the run is at `stage` and its timer there has started (the pause, the approval's
 * timeout, the post-promotion window): the stage is set before it is audited, and a cancellation
 * that lands while that audit is in flight would test another moment.
 */
async function waitingIn(handle: WorkflowHandle<typeof DeployModel>, stage: string): Promise<void> {
  await waitForStage(handle, stage);
  await historyShows(handle, (events) => events.some((event) => event.timerStartedEventAttributes));
}

/** Resolves once a workflow task has completed after the cancel request: the workflow code saw it. */
function waitForCancelSeen(handle: WorkflowHandle<typeof DeployModel>): Promise<void> {
  return historyShows(handle, (events) => {
    const requested = events.findIndex((event) => event.workflowExecutionCancelRequestedEventAttributes);
    return (
      requested >= 0 && events.slice(requested).some((event) => event.workflowTaskCompletedEventAttributes)
    );
  });
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** Polls the run's history until `test` holds (the test's own timeout bounds the wait). */
async function historyShows(
  handle: WorkflowHandle,
  test: (events: HistoryEvent[]) => boolean,
): Promise<void> {
  while (!test((await handle.fetchHistory()).events ?? [])) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
