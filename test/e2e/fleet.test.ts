/**
 * Many workers, many replicas: two workers with homes of their own (no shared folder) on one task
 * queue, two `modelship serve --environment staging` processes with homes of their own behind
 * HAProxy, and nothing shared but Temporal, the registry (auth on) and the desired state in
 * PostgreSQL. Clients call the balancer the whole time. A rollout goes through shadow, a canary
 * step, analysis and an approval signed with `modelship approve --key` (the staging policy names
 * the approver's key), while one replica is killed with SIGKILL mid-canary and started again on
 * an empty disk, and the worker that ran the rollout so far goes away: the replica converges by
 * itself, the other worker (which never saw the first one's disk) finishes the rollout, and no
 * client request fails. Then a bad version is caught in shadow and rolled back on both replicas.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadEvidenceKey } from '../../activities/evidence-key.ts';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditStore } from '../../audit/store.ts';
import { openDesiredStateStore } from '../../desired-state/open.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import { freePort } from '../../worker/dev-server.ts';
import { createModelshipWorker } from '../../worker/worker.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { usePostgres } from '../audit/postgres-helpers.ts';
import { eventually, scratchDir } from '../serving/support.ts';
import { commitAndDeploy, irisRepo } from '../support/fleet.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { type Balancer, startHaproxy } from '../support/haproxy.ts';
import { type IrisClients, startIrisClients } from '../support/iris-clients.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { repoPath } from '../support/paths.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';
import { sharedWorkflowBundle } from '../support/workflow-bundle.ts';

const MODEL = 'fleet-e2e-iris';
const pg = usePostgres();
let stack: TestStack;
let client: Client;
let registry: TestRegistry;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let repo: TempRepo;
let balancer: Balancer;
let desired: DesiredStateStore;
let secondWorker: { worker: Worker; run: Promise<void>; connection: NativeConnection; audit: AuditStore };
const evidenceKeys: string[] = [];
const ports: Record<string, number> = {};
const processes = new Map<string, ChildProcess>();
const stores: DesiredStateStore[] = [];

const openDesired = async () => {
  const store = await openDesiredStateStore({ url: pg.url, postgres: { pollIntervalMs: 1000 } });
  stores.push(store);
  return store;
};
const registrySettings = () => ({
  url: registry.url,
  urls: {},
  credentials: { username: registry.username, password: registry.password },
});

/** Starts replica `name` on its port with an empty home of its own; resolves once it follows staging. */
async function startReplicaProcess(name: string, home: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      repoPath('bin/modelship.mjs'),
      'serve',
      '--port',
      String(ports[name]),
      '--environment',
      'staging',
      '--replica-id',
      name,
      ...evidenceKeys.flatMap((file) => ['--evidence-key', file]),
    ],
    {
      env: {
        ...process.env,
        MODELSHIP_HOME: home,
        MODELSHIP_ADMIN_TOKEN: stack.dataPlane.adminToken,
        MODELSHIP_DESIRED_STATE_URL: pg.url,
        MODELSHIP_REGISTRY_URL: registry.url,
        MODELSHIP_REGISTRY_USERNAME: registry.username,
        MODELSHIP_REGISTRY_PASSWORD: registry.password,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  processes.set(name, child);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolveStart, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`replica ${name} follows the desired state of staging`)) resolveStart();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${output}`)));
  });
}

const GOOD_STEPS = [
  'shadow: { duration: 3s, minAgreement: 0.9 }',
  'setWeight: 50',
  'pause: { duration: 6s }',
  'analysis: { duration: 15s, interval: 1s }',
  'approval: { approvers: [alice], timeout: 10m }',
  'setWeight: 100',
];
// The balancer's clients send 200 requests a second: act on a doubling, judge latency by
// an absolute limit (a ratio to stable is noise for a model that answers in microseconds).
const ANALYSIS = `  analysis:
    minRequests: 50
    minEffect: 1
    errorRate: { max: 0.05 }
    latencyP99: { max: 250ms }
`;
const deploy = (version: 'v1' | 'v2' | 'bad-disagree', steps?: string[]) =>
  commitAndDeploy({
    repo,
    client,
    taskQueue: stack.taskQueue,
    model: MODEL,
    version,
    pause: '6s',
    ...(steps ? { steps, analysis: ANALYSIS } : {}),
  });

beforeAll(async () => {
  scratch = await scratchDir();
  registry = await startRegistry();
  desired = await openDesired();
  // Each worker signs evidence with a key of its own; the replicas trust both public halves.
  const homes = { a: join(scratch.path, 'worker-a'), b: join(scratch.path, 'worker-b') };
  for (const home of Object.values(homes)) {
    await loadEvidenceKey({ home });
    evidenceKeys.push(join(home, 'keys', 'evidence.pub'));
  }
  stack = await startTestStack('fleet-e2e', {
    desiredState: await openDesired(),
    registry: registrySettings(),
    evidenceKeyPath: join(homes.a, 'keys', 'evidence.key'),
  });
  client = stack.client;
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const audit = await openAuditStore(homes.b);
  const worker = await createModelshipWorker({
    connection,
    namespace: 'default',
    taskQueue: stack.taskQueue,
    home: homes.b,
    audit,
    dataPlane: { url: stack.dataPlane.url, adminToken: stack.dataPlane.adminToken },
    desiredState: await openDesired(),
    fleetWaitMs: 3000,
    registry: registrySettings(),
    workflowBundle: await sharedWorkflowBundle(),
    identity: 'worker-b',
  });
  secondWorker = { worker, run: worker.run(), connection, audit };

  for (const name of ['replica-a', 'replica-b']) ports[name] = await freePort();
  await Promise.all(
    ['replica-a', 'replica-b'].map((name) => startReplicaProcess(name, join(scratch.path, `${name}-1`))),
  );
  balancer = await startHaproxy({
    backends: Object.values(ports).map((port) => `127.0.0.1:${port}`),
    checkPath: `/v2/models/${MODEL}/ready`,
  });
  repo = await irisRepo('modelship-fleet-e2e-');
  await repo.copyFromProject('models/iris/bad-disagree/model.onnx');
  // Staging takes approvals signed by alice's key only.
  const alice = generateSigningKeyPair();
  await writeFile(join(scratch.path, 'alice.key'), alice.privateKeyPem);
  await repo.write('keys/alice.pub', alice.publicKeyPem);
  await repo.write(
    'policies/staging.yaml',
    'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata:\n  environment: staging\nidentity:\n  approvers:\n    alice: { publicKey: keys/alice.pub }\n',
  );
});

afterAll(async () => {
  for (const child of processes.values()) if (child.exitCode === null) child.kill('SIGKILL');
  await balancer?.close();
  if (secondWorker) {
    secondWorker.worker.shutdown();
    await secondWorker.run;
    await secondWorker.connection.close();
    await secondWorker.audit.close();
  }
  await stack?.stop();
  for (const store of stores) await store.close();
  await registry?.close();
  await repo?.remove();
  await scratch?.remove();
});

/** Waits until the run asks alice, then approves as the CLI does, signed with her key. */
async function approveSigned(handle: WorkflowHandle<typeof DeployModel>): Promise<void> {
  await eventually(async () => (await handle.query(statusQuery)).waitingFor !== undefined, 90_000);
  const approved = await runModelship(
    ['approve', MODEL, '--env', 'staging', '--as', 'alice', '--key', join(scratch.path, 'alice.key')],
    {
      cwd: repo.root,
      env: { TEMPORAL_ADDRESS: inject('temporalAddress'), MODELSHIP_TASK_QUEUE: stack.taskQueue },
    },
  );
  expect(approved.stderr).toBe('');
  expect(approved.status).toBe(0);
}

describe.sequential('two workers, two replicas behind HAProxy, one replica killed mid-canary', () => {
  let clients: IrisClients;

  it('promotes through a signed approval, the killed replica converges again by itself, and no client request fails', async () => {
    expect((await (await deploy('v1')).result()).outcome).toBe('serving');
    await eventually(
      async () => (await fetch(`${balancer.url}/v2/models/${MODEL}/ready`)).status === 200,
      10_000,
    );

    clients = startIrisClients(`${balancer.url}/v2/models/${MODEL}/infer`, 2);
    const handle = await deploy('v2', GOOD_STEPS);
    // Mid-canary: the record routes half the traffic to the candidate.
    await eventually(
      async () => (await desired.read('staging')).models[MODEL]?.canary?.weight === 50,
      60_000,
    );
    processes.get('replica-b')?.kill('SIGKILL');
    await new Promise((resolveExit) => processes.get('replica-b')?.once('exit', resolveExit));
    // The worker that ran everything so far (it had the workflow cached and took its activities)
    // goes away too: the other must fetch the commit and the bundle's inputs on its own.
    await stack.stopWorker();
    await startReplicaProcess('replica-b', join(scratch.path, 'replica-b-2'));

    await approveSigned(handle);
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    expect(clients.outcomes.failed).toEqual([]);
    expect(clients.outcomes.ok).toBeGreaterThan(50);

    // Both replicas serve the promoted version, and say so.
    const state = await desired.read('staging');
    await eventually(async () => {
      const { reports } = await desired.replicas('staging');
      return reports.filter((report) => report.serving >= state.generation).length === 2;
    }, 15_000);
    // The second worker finished the rollout: it ran activities of it, on its own disk.
    const identities = new Set<string>();
    const { events } = await handle.fetchHistory();
    for (const event of events ?? []) {
      const identity = event.activityTaskStartedEventAttributes?.identity;
      if (identity) identities.add(identity);
    }
    expect(identities).toContain('worker-b');
  });

  it('rolls a bad version back on both replicas, with still no failed client request', async () => {
    const promoted = (await desired.read('staging')).models[MODEL]?.stable.version;
    const handle = await deploy('bad-disagree', [
      'shadow: { duration: 20s, minAgreement: 0.95 }',
      ...GOOD_STEPS.slice(1),
    ]);
    const result = await handle.result();
    await clients.stop();
    expect(result.outcome).toBe('rolled-back');
    expect(clients.outcomes.failed).toEqual([]);
    const state = await desired.read('staging');
    expect(state.models[MODEL]).toMatchObject({ stable: { version: promoted }, canary: null, shadow: null });
    await eventually(async () => {
      const { reports } = await desired.replicas('staging');
      return reports.filter((report) => report.serving >= state.generation).length === 2;
    }, 15_000);
  });
});
