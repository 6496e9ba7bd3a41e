/**
 * The run's state manager and its handlers, with the workflow API replaced by a recorder: what an
 * approver and an auditor see after each `approve` message, without a Temporal server. The same
 * behaviour on a real server is in `rollout.test.ts`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Step } from '../../specs/schema.ts';

const recorded = vi.hoisted(() => ({
  details: [] as string[],
  decisions: [] as { decision: string; actor?: string; details?: Record<string, unknown> }[],
  handlers: new Map<string, { handler: unknown; validator?: unknown }>(),
}));

vi.mock('@temporalio/workflow', async () => {
  const common = await import('@temporalio/common');
  const define = (type: string) => (name: string) => ({ type, name });
  return {
    ApplicationFailure: common.ApplicationFailure,
    defineQuery: define('query'),
    defineSignal: define('signal'),
    defineUpdate: define('update'),
    setHandler: (definition: { name: string }, handler: unknown, options?: { validator?: unknown }) => {
      recorded.handlers.set(definition.name, { handler, validator: options?.validator });
    },
    setCurrentDetails: (details: string) => recorded.details.push(details),
    upsertSearchAttributes: () => undefined,
    patched: () => true,
    workflowInfo: () => ({ workflowId: 'deploy/production/iris', runId: 'run-1' }),
    condition: (ready: () => boolean) =>
      new Promise<boolean>((resolve) => {
        const check = () => (ready() ? resolve(true) : setTimeout(check, 1));
        check();
      }),
    proxyActivities: () =>
      new Proxy(
        {},
        {
          get: (_target, name) => async (input: Record<string, unknown>) => {
            if (name === 'recordDecision')
              recorded.decisions.push(input as (typeof recorded.decisions)[number]);
            // The verifier of a policy that allows unsigned approvals: the name is taken as sent.
            if (name === 'verifyApproval') {
              const { approver } = input.request as { approver: string };
              return { accepted: true, approver, identities: [], method: 'none' };
            }
            return undefined;
          },
        },
      ),
  };
});

const { DeploymentRun } = await import('../../workflows/deployment-run.ts');
const { initialRollout } = await import('../../workflows/deployment-state.ts');

const APPROVAL: Extract<Step, { type: 'approval' }> = {
  type: 'approval',
  approvers: ['alice', 'bob'],
  timeout: '1h',
  timeoutMs: 3_600_000,
};

const deployment = {
  model: 'iris',
  environment: 'production',
  commit: '0123456789abcdef0123456789abcdef01234567',
  specPath: 'specs/iris.yaml',
  author: { name: 'Bob Builder', email: 'bob@example.com' },
};

/** A run waiting on approval step 2, and the promise of its outcome. */
async function waitingRun() {
  const run = new DeploymentRun(deployment as never, 'models/iris/v2/model.onnx');
  run.register();
  run.startRollout(initialRollout([{ type: 'setWeight', weight: 10 }, APPROVAL]));
  const outcome = run.awaitApproval(APPROVAL, 1);
  await vi.waitFor(() => expect(recorded.decisions.at(-1)?.details).toEqual({ stage: 'awaiting-approval' }));
  return { run, outcome };
}

beforeEach(() => {
  recorded.details.length = 0;
  recorded.decisions.length = 0;
  recorded.handlers.clear();
});

describe('DeploymentRun', () => {
  it('installs the status query and the approve update (with a validator) and signal', async () => {
    const { run } = await waitingRun();
    expect([...recorded.handlers.keys()].sort()).toEqual(['approve', 'status']);
    expect(recorded.handlers.get('approve')?.validator ?? 'signal').toBeDefined();
    expect(run.status().waitingFor?.approvers).toEqual(['alice', 'bob']);
  });

  it('refuses an update with no usable input in the validator, with a clear message and no stack', async () => {
    const { run } = await waitingRun();
    for (const [input, message] of [
      [
        null,
        'expected one JSON object such as {"approver":"alice","decision":"approve"}, or the output of `modelship approve --print`, got null',
      ],
      [
        undefined,
        'expected one JSON object such as {"approver":"alice","decision":"approve"}, or the output of `modelship approve --print`, got no input',
      ],
      [
        '',
        'expected one JSON object such as {"approver":"alice","decision":"approve"}, or the output of `modelship approve --print`, got an empty string',
      ],
      [{}, 'approver: must name who approves, as in {"approver":"alice","decision":"approve"}'],
    ] as const) {
      const error = (() => {
        try {
          run.validateApproveInput(input);
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).message).toBe(message);
      expect((error as ApplicationFailure).stack).toBe(`ApprovalRefused: ${message}`);
    }
  });

  it('audits a refused update as approval.refused before answering, and before any stage change', async () => {
    const { run } = await waitingRun();
    const audited = recorded.decisions.length;
    const refused = await run
      .approveByUpdate({ approver: 'mallory', decision: 'approve' })
      .catch((error: unknown) => error);
    expect((refused as ApplicationFailure).message).toBe(
      'mallory is not an approver of this step (approvers: alice, bob)',
    );
    expect(recorded.decisions.slice(audited)).toEqual([
      {
        deployment,
        decision: 'approval.refused',
        actor: 'mallory',
        details: {
          reason: 'mallory is not an approver of this step (approvers: alice, bob)',
          via: 'update',
          // The audit says the name was only claimed: a refused approval proved nothing.
          claimed: true,
          step: 2,
        },
      },
    ]);
    expect(run.state.stage).toBe('awaiting-approval');
    expect(recorded.details.at(-1)).toContain('mallory was refused');
  });

  it("audits the commit author's own approval under four eyes, and a refused signal, at once", async () => {
    const { run } = await waitingRun();
    await expect(run.approveByUpdate({ approver: 'bob', decision: 'approve' })).rejects.toThrow(
      "in production the commit's author (Bob Builder <bob@example.com>) cannot approve their own change",
    );
    await run.approveBySignal({ approver: 'eve', decision: 'approve' });
    expect(recorded.decisions.slice(-2).map((record) => [record.decision, record.actor])).toEqual([
      ['approval.refused', 'bob'],
      ['approval.refused', 'eve'],
    ]);
    expect(recorded.decisions.at(-1)?.details).toMatchObject({
      via: 'signal',
      reason: expect.stringContaining('eve'),
    });
  });

  it('shows an accepted approval in the details at once, then audits it when the rollout wakes', async () => {
    const { run, outcome } = await waitingRun();
    expect(recorded.details.at(-1)).toContain('Waiting for approval');
    const receipt = await run.approveByUpdate({
      approver: 'alice',
      decision: 'approve',
      comment: 'looks good',
    });
    expect(receipt).toEqual({ approver: 'alice', decision: 'approve', stepIndex: 1 });
    // Before the rollout loop has run again: the details already changed.
    const details = recorded.details.at(-1) ?? '';
    expect(details).not.toContain('Waiting for approval');
    expect(details).toContain('approved by alice');
    expect(await outcome).toEqual({ decision: 'approve', approver: 'alice', comment: 'looks good' });
    expect(recorded.decisions.at(-1)).toMatchObject({ decision: 'approval.approved', actor: 'alice' });
    // Nothing is pending any more: a second approval is refused, and audited.
    await expect(run.approveByUpdate({ approver: 'bob', decision: 'reject' })).rejects.toThrow(
      'no approval is pending for this rollout right now',
    );
  });
});
