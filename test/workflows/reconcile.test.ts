/**
 * Reconcile against real parts: a Temporal dev server and a worker, the file desired-state store
 * with one replica following it (bundles pulled from the worker's OCI layout), and a Git
 * repository the worker fetches the deploy branch from. The data plane forgets a model and
 * reconcile puts it back; a spec committed but never applied is reported, then applied once the
 * environment's policy says so; the schedule runs passes by itself.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvidenceKey } from '../../activities/evidence-key.ts';
import { openDesiredStateStore } from '../../desired-state/open.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { applyChanges } from '../../gitops/apply.ts';
import { CommitReader, NULL_SHA } from '../../gitops/git.ts';
import {
  checkServing,
  reconcileWorkflowId,
  runReconcile,
  scheduleReconcile,
  unscheduleReconcile,
} from '../../gitops/start-reconcile.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { type Replica, startReplica } from '../../serving/replica.ts';
import { type ServingServer, startServingServer } from '../../serving/server.ts';
import { eventually, infer, irisRequest, scratchDir } from '../serving/support.ts';
import { commitAndDeploy, irisRepo } from '../support/fleet.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

const MODEL = 'drift-iris';
// An environment of this file's own: the dev server is shared by every test file, and reconcile
// looks at every deployment of its environment.
const ENV = `reconcile-${process.pid}`;
let stack: TestStack;
let client: Client;
let desired: DesiredStateStore;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let repo: TempRepo;
let server: ServingServer;
let replica: Replica;

const request = (repair: boolean) => ({
  environment: ENV,
  repository: repo.root,
  specsDir: 'specs',
  repair,
});
const answers = async () => (await infer(server.url, MODEL, irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status;

beforeAll(async () => {
  scratch = await scratchDir();
  desired = await openDesiredStateStore({ directory: join(scratch.path, 'desired-state') });
  const key = await loadEvidenceKey({ home: scratch.path });
  stack = await startTestStack('reconcile', { desiredState: desired, evidenceKeyPath: key.path });
  client = stack.client;
  repo = await irisRepo('modelship-reconcile-repo-');
  server = await startServingServer({ adminToken: stack.dataPlane.adminToken, followsEnvironment: ENV });
  replica = await startReplica({
    environment: ENV,
    replica: 'replica-a',
    url: server.url,
    desired: await openDesiredStateStore({ directory: join(scratch.path, 'desired-state') }),
    store: bundleStores({ home: stack.home }).storeFor(ENV).store,
    cacheDir: join(scratch.path, 'cache'),
    registry: server.registry,
    evidenceKeys: [key.publicKeyPem],
    heartbeatMs: 500,
  });
  const first = await commitAndDeploy({
    repo,
    client,
    taskQueue: stack.taskQueue,
    model: MODEL,
    version: 'v1',
    pause: '1s',
    environment: ENV,
  });
  expect((await first.result()).outcome).toBe('serving');
});

afterAll(async () => {
  await unscheduleReconcile(client, ENV).catch(() => {});
  await replica?.stop();
  await server?.close();
  await stack?.stop();
  await desired?.close();
  await repo?.remove();
  await scratch?.remove();
});

describe.sequential('reconcile', () => {
  it('finds nothing to do when Git, Temporal and the replica agree', async () => {
    const report = await runReconcile(client, stack.taskQueue, request(true));
    expect(report.findings).toEqual([]);
    expect(report.remaining).toEqual([]);
    expect(report.serving[MODEL]).toMatchObject({ served: true });
    expect(report.commit).toBe((await repo.git.revparse(['HEAD'])).trim());
  });

  it('sees a model the data plane forgot, puts it back, and audits the repair', async () => {
    await desired.update(ENV, (models) => {
      delete models[MODEL];
      return models;
    });
    await eventually(async () => (await answers()) === 404);

    const check = await checkServing(client, stack.taskQueue, ENV);
    if (!('report' in check)) throw new Error(check.error);
    expect(check.report.serving[MODEL]).toMatchObject({ served: false });
    expect(check.report.serving[MODEL]?.why).toContain('does not route');
    // Observing repaired nothing.
    expect((await desired.read(ENV)).models[MODEL]).toBeUndefined();
    // `status` does not call it deployed while nothing serves it.
    const status = await runModelship(['status'], {
      cwd: repo.root,
      env: { TEMPORAL_ADDRESS: stack.address, MODELSHIP_TASK_QUEUE: stack.taskQueue },
    });
    expect(status.status).toBe(0);
    const row = status.stdout.split('\n').find((line) => line.startsWith(`${MODEL}@${ENV}`));
    expect(row).toContain('serving, NOT SERVED');
    expect(status.stdout).toContain(`drift in ${ENV} (data-plane): ${MODEL}: Temporal's last run left`);

    const report = await runReconcile(client, stack.taskQueue, request(true));
    expect(report.findings.map((f) => f.kind)).toEqual(['not-served']);
    expect(report.repairs[0]).toMatchObject({ done: true });
    expect(report.remaining).toEqual([]);
    await eventually(async () => (await answers()) === 200);

    const decisions = (await stack.audit.list({ workflowId: reconcileWorkflowId(ENV) })).filter(
      (record) => record.step === 'reconcile.drift',
    );
    expect(decisions.length).toBeGreaterThan(0);
    expect(JSON.stringify(decisions.at(-1)?.details)).toContain('not-served');
  });

  it('reports a spec committed but never applied, and applies it once the policy says so', async () => {
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({
        name: MODEL,
        environment: ENV,
        dataset: 'iris',
        version: 'v2',
        minAccuracy: 0.8,
        postPromotionWindow: '1s',
        steps: ['setWeight: 50', 'pause: { duration: 1s }', 'setWeight: 100'],
      }),
    );
    await repo.commit('iris v2, not applied');
    const reported = await runReconcile(client, stack.taskQueue, request(true));
    expect(reported.gitDriftPolicy).toBe('report');
    expect(reported.remaining.map((f) => [f.kind, f.model])).toEqual([['not-deployed', MODEL]]);
    expect(reported.applied).toBeUndefined();

    await repo.write(
      `policies/${ENV}.yaml`,
      `apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata:\n  environment: ${ENV}\nreconcile:\n  gitDrift: apply\n`,
    );
    await repo.commit('staging: reconcile applies Git drift');
    const applied = await runReconcile(client, stack.taskQueue, request(true));
    expect(applied.gitDriftPolicy).toBe('apply');
    expect(applied.applied?.started).toEqual([`deploy/${ENV}/${MODEL}`]);
    const result = await client.workflow.getHandle(`deploy/${ENV}/${MODEL}`).result();
    expect(result.outcome).toBe('promoted');

    const after = await runReconcile(client, stack.taskQueue, request(true));
    expect(after.remaining).toEqual([]);
  });

  it('runs passes on a Temporal Schedule', async () => {
    await desired.update(ENV, (models) => {
      delete models[MODEL];
      return models;
    });
    await eventually(async () => (await answers()) === 404);
    expect(await scheduleReconcile(client, stack.taskQueue, request(true), 1_000)).toBe('created');
    expect(await scheduleReconcile(client, stack.taskQueue, request(true), 1_000)).toBe('updated');
    // The scheduled pass repairs what the data plane forgot, with nobody asking.
    await eventually(async () => (await answers()) === 200, 30_000);
    expect(await unscheduleReconcile(client, ENV)).toBe(true);
    expect(await unscheduleReconcile(client, ENV)).toBe(false);
  });

  it('apply deploys again what Temporal calls deployed but the data plane forgot', async () => {
    const head = (await repo.git.revparse(['HEAD'])).trim();
    const applyHead = () =>
      applyChanges({
        reader,
        repository: repo.root,
        base: NULL_SHA,
        head,
        specsDir: 'specs',
        connect: async () => client,
        taskQueue: stack.taskQueue,
        out: () => {},
        err: () => {},
      });
    const reader = await CommitReader.open(repo.root);
    const untouched = await applyHead();
    expect(untouched.decisions.map((d) => d.decision)).toEqual([{ action: 'none', why: 'deployed' }]);

    await desired.update(ENV, (models) => {
      delete models[MODEL];
      return models;
    });
    await eventually(async () => (await answers()) === 404);
    const redeployed = await applyHead();
    expect(redeployed.decisions.map((d) => d.decision)).toEqual([{ action: 'start', why: 'not-served' }]);
    expect(redeployed.exitCode).toBe(0);
    expect(await answers()).toBe(200);
  });
});
