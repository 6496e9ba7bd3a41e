/**
 * What served when, end to end with real parts: a real Temporal dev server and worker, a real
 * data plane, specs committed to a real Git repository whose staging policy takes only approvals
 * signed by alice's key, and the audit log the worker writes. Three rollouts of one model (the
 * first version, a second promoted after a signed approval, a third whose canary alice rejects),
 * then `modelship history` as a user runs it reads them back: periods, shares, outcomes and
 * approvers, as a table and as JSON.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { servingHistorySchema } from '../../audit/history-document.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { eventually, scratchDir } from '../serving/support.ts';
import { commitAndDeploy, irisRepo } from '../support/fleet.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

const MODEL = 'iris-history';
const STEPS = (weight: number) => [
  `setWeight: ${weight}`,
  'approval: { approvers: [alice], timeout: 5m }',
  'setWeight: 100',
];

let stack: TestStack;
let repo: TempRepo;
let scratch: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  stack = await startTestStack('history');
  scratch = await scratchDir();
  repo = await irisRepo('modelship-history-');
  await repo.copyFromProject('models/iris/bad-disagree/model.onnx');
  // Staging takes approvals signed by alice's key only, so the history can say how she proved it.
  const alice = generateSigningKeyPair();
  await writeFile(join(scratch.path, 'alice.key'), alice.privateKeyPem);
  await repo.write('keys/alice.pub', alice.publicKeyPem);
  await repo.write(
    'policies/staging.yaml',
    'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata:\n  environment: staging\nidentity:\n  approvers:\n    alice: { publicKey: keys/alice.pub }\n',
  );
});

afterAll(async () => {
  await stack?.stop();
  await repo?.remove();
  await scratch?.remove();
});

const cli = (args: string[]) =>
  runModelship(args, {
    cwd: repo.root,
    env: { TEMPORAL_ADDRESS: inject('temporalAddress'), MODELSHIP_TASK_QUEUE: stack.taskQueue },
  });

/** Waits for the run's approval step, then decides it as alice does, signed with her key. */
async function decideSigned(handle: WorkflowHandle<typeof DeployModel>, extra: string[]): Promise<void> {
  await eventually(async () => (await handle.query(statusQuery)).waitingFor !== undefined, 90_000);
  const decided = await cli([
    'approve',
    MODEL,
    '--env',
    'staging',
    '--as',
    'alice',
    '--key',
    join(scratch.path, 'alice.key'),
    ...extra,
  ]);
  expect(decided.stderr).toBe('');
  expect(decided.status).toBe(0);
}

const deploy = (version: 'v1' | 'v2' | 'bad-disagree', steps?: string[]) =>
  commitAndDeploy({
    repo,
    client: stack.client,
    taskQueue: stack.taskQueue,
    model: MODEL,
    version,
    pause: '1s',
    ...(steps ? { steps } : {}),
  });

describe('modelship history', () => {
  it('lists the first version, a promoted second and a rolled-back third with shares, outcomes and approvers', async () => {
    const first = await (await deploy('v1')).result();
    expect(first.outcome).toBe('serving');

    const second = await deploy('v2', STEPS(25));
    await decideSigned(second, []);
    const promoted = await second.result();
    expect(promoted.outcome).toBe('promoted');

    const third = await deploy('bad-disagree', STEPS(20));
    await decideSigned(third, ['--reject', '--comment', 'predicts differently from v2']);
    const rolledBack = await third.result();
    expect(rolledBack.outcome).toBe('rolled-back');

    const [json, text] = await Promise.all([
      cli(['history', MODEL, '--env', 'staging', '--home', stack.home, '--json']),
      cli(['history', MODEL, '--env', 'staging', '--home', stack.home]),
    ]);
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const history = servingHistorySchema.parse(JSON.parse(json.stdout));
    const [v3, v2, v1] = history.periods;
    expect(history.periods).toHaveLength(3);
    const versions = {
      v1: first.dataPlane?.version,
      v2: promoted.dataPlane?.version,
      v3: rolledBack.dataPlane?.version,
    };

    expect(v1).toMatchObject({
      version: versions.v1,
      bundleDigest: first.bundle?.digest,
      commit: first.commit,
      role: 'stable',
      began: 'first-version',
      ended: { how: 'promotion', by: versions.v2 },
      maxShare: 100,
      rollout: { outcome: 'serving', approvals: [] },
    });
    expect(v1?.traffic.map((change) => change.share)).toEqual([100, 75, 0]);

    expect(v2).toMatchObject({
      version: versions.v2,
      bundleDigest: promoted.bundle?.digest,
      commit: promoted.commit,
      role: 'stable',
      began: 'promoted',
      to: null,
      ended: null,
      maxShare: 100,
      rollout: {
        outcome: 'promoted',
        approvals: [{ step: 2, decision: 'approved', approver: 'alice', method: 'signature' }],
      },
    });
    // Its canary share, then all traffic; 80 % during the third's canary, all again after it.
    expect(v2?.traffic.map((change) => change.share)).toEqual([25, 100, 80, 100]);
    // The old version served until the promotion, which came after the new one's first share.
    expect(Date.parse(v1?.to ?? '')).toBeGreaterThan(Date.parse(v2?.from ?? ''));

    expect(v3).toMatchObject({
      version: versions.v3,
      bundleDigest: rolledBack.bundle?.digest,
      role: 'canary-only',
      began: 'canary',
      maxShare: 20,
      traffic: [{ share: 20 }],
      ended: { how: 'canary-rollback', reason: rolledBack.rollback?.reason },
      rollout: {
        outcome: 'rolled-back',
        approvals: [
          {
            step: 2,
            decision: 'rejected',
            approver: 'alice',
            method: 'signature',
            comment: 'predicts differently from v2',
          },
        ],
      },
    });

    expect(text.status).toBe(0);
    const rows = text.stdout.split('\n').slice(3, 6);
    expect(rows[0]).toMatch(
      new RegExp(
        `^${versions.v3} {2}canary-only .* max 20% +canary +rolled back in its canary +rejected by alice \\(signature\\)$`,
      ),
    );
    expect(rows[1]).toMatch(
      new RegExp(`^${versions.v2} {2}stable .* serving +100% +promoted +- +alice \\(signature\\)$`),
    );
    expect(rows[2]).toMatch(
      new RegExp(`^${versions.v1} {2}stable .* 100% +first version +promotion of ${versions.v2} +-$`),
    );
  }, 300_000);
});
