/**
 * FAST tier, stubbed activities (`test/support/stub-activities.ts`): the real DeployModel on the
 * real dev server at an approval step, driven through its public messages: the `approve` update
 * (accepted, rejected, refused by its validator) and signal, and the step's timeout. Who may
 * approve is a pure rule with its own tests (`approval.unit.test.ts`); these check that the
 * workflow applies it, keeps waiting after a refusal, and rolls back or promotes as decided.
 */
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { approveSignal, approveUpdate, statusQuery } from '../../workflows/messages.ts';
import { healthy, type StubRun } from '../support/stub-activities.ts';
import {
  type StubDeployment,
  type StubStack,
  startStubbedDeployment,
  startStubStack,
  waitForStage,
} from '../support/stub-stack.ts';

let stack: StubStack;

beforeAll(async () => {
  stack = await startStubStack('approval-branches');
});

afterAll(async () => {
  await stack?.stop();
});

const approvalSteps = (approvers: string, timeout = '1m') => [
  'setWeight: 50',
  `approval: { approvers: [${approvers}], timeout: ${timeout} }`,
  'setWeight: 100',
];

/** Starts a rollout and waits until it waits for an approval. */
async function atApproval(
  options: StubDeployment,
): Promise<{ handle: WorkflowHandle<typeof DeployModel>; run: StubRun }> {
  const started = await startStubbedDeployment(stack, options);
  await waitForStage(started.handle, 'awaiting-approval');
  return started;
}

/** The update's refusal text, or a failure when the update was accepted. */
async function refusal(
  handle: WorkflowHandle<typeof DeployModel>,
  approver: string,
  decision: 'approve' | 'reject' = 'approve',
): Promise<string> {
  const outcome = await handle
    .executeUpdate(approveUpdate, { args: [{ approver, decision }] })
    .then((receipt) => new Error(`accepted: ${JSON.stringify(receipt)}`))
    .catch((error: unknown) => error);
  if (!(outcome instanceof WorkflowUpdateFailedError)) throw outcome;
  return String(outcome.cause?.message);
}

/** The run's audited decisions without those named `except`. */
function decisionsBut(run: StubRun, except: string): string[] {
  return run.decisions().filter((decision) => decision !== except);
}

const PROMOTED = [
  'load',
  'setCandidateWeight candidate 50',
  'setCandidateWeight candidate 100',
  'promote candidate',
];
const ROLLED_BACK = [
  'load',
  'setCandidateWeight candidate 50',
  'rollbackCandidate to stable',
  'unload candidate',
];

describe.concurrent('an approval step (stubbed activities)', () => {
  it('promotes once a listed approver approves through the update, which answers with a receipt', async ({
    expect,
  }) => {
    const { handle, run } = await atApproval({ model: 'ab-approve', steps: approvalSteps('alice, bob') });
    // Nothing moves while it waits.
    expect(run.dataPlane()).toEqual(['load', 'setCandidateWeight candidate 50']);

    const receipt = await handle.executeUpdate(approveUpdate, {
      args: [{ approver: 'Alice', decision: 'approve', comment: 'dashboards look fine' }],
    });
    expect(receipt).toEqual({ approver: 'Alice', decision: 'approve', stepIndex: 1 });
    const result = await handle.result();

    expect(result.outcome).toBe('promoted');
    expect(run.dataPlane().slice(0, 4)).toEqual(PROMOTED);
    const approved = run.inputsOf('recordDecision').find((input) => input.decision === 'approval.approved');
    expect(approved).toMatchObject({ actor: 'Alice', details: { step: 2, comment: 'dashboards look fine' } });
    expect(run.decisions()).toEqual(['approval.approved', 'deployment.promoted']);
  });

  it('rolls back when a listed approver rejects, quoting their comment', async ({ expect }) => {
    const { handle, run } = await atApproval({ model: 'ab-reject', steps: approvalSteps('alice, bob') });
    const receipt = await handle.executeUpdate(approveUpdate, {
      args: [{ approver: 'bob', decision: 'reject', comment: 'p99 doubled on the canary' }],
    });
    expect(receipt).toEqual({ approver: 'bob', decision: 'reject', stepIndex: 1 });
    const result = await handle.result();

    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback).toEqual({
      reason: 'step 2 (approval) rejected by bob: "p99 doubled on the canary"',
    });
    expect(run.dataPlane()).toEqual(ROLLED_BACK);
    expect(run.decisions()).toEqual(['approval.rejected', 'deployment.rolled-back']);
    expect(
      run.inputsOf('recordDecision').find((input) => input.decision === 'approval.rejected')?.actor,
    ).toBe('bob');
  });

  it('rolls back when nobody decides before the timeout', async ({ expect }) => {
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'ab-timeout',
      steps: approvalSteps('alice', '1s'),
    });
    const result = await handle.result();

    expect(result.outcome).toBe('rolled-back');
    expect(result.rollback).toEqual({ reason: 'step 2 (approval) timed out after 1s without a decision' });
    expect(run.dataPlane()).toEqual(ROLLED_BACK);
    expect(run.decisions()).toEqual(['approval.timed-out', 'deployment.rolled-back']);
    expect(run.decision('approval.timed-out')).toMatchObject({ step: 2, approvers: ['alice'] });
  });

  it('refuses an approver who is not listed, with the reason, and keeps waiting for one who is', async ({
    expect,
  }) => {
    const { handle, run } = await atApproval({ model: 'ab-stranger', steps: approvalSteps('alice') });
    expect(await refusal(handle, 'mallory')).toBe(
      'mallory is not an approver of this step (approvers: alice)',
    );
    expect((await handle.query(statusQuery)).stage).toBe('awaiting-approval');

    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'alice', decision: 'approve' }] });
    expect((await handle.result()).outcome).toBe('promoted');
    // Whether a refused update is audited is the workflow's choice; it never counts as a decision.
    expect(decisionsBut(run, 'approval.refused')).toEqual(['approval.approved', 'deployment.promoted']);
  });

  it("refuses the commit author's own approval in production, and takes a second person's", async ({
    expect,
  }) => {
    const { handle, run } = await atApproval({
      model: 'ab-four-eyes',
      environment: 'production',
      steps: approvalSteps('author, bob'),
    });
    expect(await refusal(handle, 'author')).toBe(
      "in production the commit's author (Test Author <author@example.com>) cannot approve their own change",
    );
    expect((await handle.query(statusQuery)).stage).toBe('awaiting-approval');

    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', decision: 'approve' }] });
    expect((await handle.result()).outcome).toBe('promoted');
    expect(
      run.inputsOf('recordDecision').find((input) => input.decision === 'approval.approved')?.actor,
    ).toBe('bob');
  });

  it("applies the environment policy's four-eyes rule outside production too", async ({ expect }) => {
    const { handle } = await atApproval({
      model: 'ab-policy-four-eyes',
      steps: approvalSteps('author, bob'),
      script: {
        checkShipGates: async (input, attempt) => {
          const passed = await healthy.checkShipGates(input, attempt);
          return { ...passed, supplyChain: { ...passed.supplyChain, fourEyes: true } };
        },
      },
    });
    expect(await refusal(handle, 'author')).toBe(
      "in staging the commit's author (Test Author <author@example.com>) cannot approve their own change",
    );
    // Rejecting one's own change is always allowed.
    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'author', decision: 'reject' }] });
    expect((await handle.result()).rollback?.reason).toBe('step 2 (approval) rejected by author');
  });

  it('takes an approval sent as a signal, and audits a refused one instead of answering it', async ({
    expect,
  }) => {
    const { handle, run } = await atApproval({ model: 'ab-signal', steps: approvalSteps('alice') });
    await handle.signal(approveSignal, { approver: 'mallory', decision: 'approve' });
    // Mallory's approval is verified before it is judged; alice's signal sent at once may decide
    // the step first, and mallory's is then refused as too late rather than as not an approver.
    // Both are right; this test is about the second, so alice waits for mallory's refusal.
    await vi.waitFor(
      () => {
        if (!run.inputsOf('recordDecision').some((input) => input.decision === 'approval.refused')) {
          throw new Error("mallory's refusal is not audited yet");
        }
      },
      { timeout: 20_000, interval: 50 },
    );
    await handle.signal(approveSignal, { approver: 'alice', decision: 'approve' });
    const result = await handle.result();

    expect(result.outcome).toBe('promoted');
    expect(decisionsBut(run, 'approval.refused')).toEqual(['approval.approved', 'deployment.promoted']);
    const decided = run.inputsOf('recordDecision');
    expect(decided.find((input) => input.decision === 'approval.approved')?.actor).toBe('alice');
    // A signal cannot be answered, so its refusal must reach the audit log, with the reason.
    const refused = decided.find((input) => input.decision === 'approval.refused');
    expect(refused?.actor).toBe('mallory');
    expect(JSON.stringify(refused?.details)).toContain(
      'mallory is not an approver of this step (approvers: alice)',
    );
  });

  it('refuses an approval when no step is waiting for one, and goes on as planned', async ({ expect }) => {
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'ab-not-pending',
      steps: ['setWeight: 20', 'pause: { duration: 2s }', 'setWeight: 100'],
    });
    await waitForStage(handle, 'paused');
    expect(await refusal(handle, 'alice')).toBe('no approval is pending for this rollout right now');
    expect((await handle.result()).outcome).toBe('promoted');
    expect(decisionsBut(run, 'approval.refused')).toEqual(['deployment.promoted']);
  });
});
