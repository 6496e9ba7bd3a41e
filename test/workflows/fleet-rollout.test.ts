/**
 * Rollouts driving a fleet: the worker writes the environment's desired state (PostgreSQL) and
 * waits for the replicas; two replicas, each with its own cache, follow it and pull bundles from
 * a real registry (auth on) where `package` pushed them, checking their evidence under the
 * worker's key. A step completes only when both serve its generation; a live replica that does
 * not catch up holds the rollout, named in the activity's failure, until it does or goes.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvidenceKey } from '../../activities/evidence-key.ts';
import { openDesiredStateStore } from '../../desired-state/open.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { openOciStore } from '../../oci/open.ts';
import { type Replica, startReplica } from '../../serving/replica.ts';
import { type ServingServer, startServingServer } from '../../serving/server.ts';
import { TEST_POSTGRES_URL, usePostgres } from '../audit/postgres-helpers.ts';
import { eventually, infer, irisRequest, scratchDir } from '../serving/support.ts';
import { commitAndDeploy, irisRepo } from '../support/fleet.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

const MODEL = 'fleet-iris';
const pg = usePostgres();
let stack: TestStack;
let client: Client;
let registry: TestRegistry;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let repo: TempRepo;
let evidencePublicKey: string;
const stores: DesiredStateStore[] = [];
const replicas: { server: ServingServer; replica: Replica }[] = [];

const openDesired = async () => {
  const store = await openDesiredStateStore({
    url: TEST_POSTGRES_URL,
    postgres: { schema: pg.schema, pollIntervalMs: 1000 },
  });
  stores.push(store);
  return store;
};

/** One replica of staging: its own server, cache, desired-state connection and registry client. */
async function startFleetReplica(name: string) {
  const server = await startServingServer({
    adminToken: stack.dataPlane.adminToken,
    followsEnvironment: 'staging',
  });
  const replica = await startReplica({
    environment: 'staging',
    replica: name,
    url: server.url,
    desired: await openDesired(),
    store: openOciStore({
      kind: 'registry',
      url: registry.url,
      credentials: { username: registry.username, password: registry.password },
    }),
    cacheDir: join(scratch.path, `cache-${name}`),
    registry: server.registry,
    evidenceKeys: [evidencePublicKey],
    heartbeatMs: 500,
  });
  const started = { server, replica };
  replicas.push(started);
  return started;
}

const deploy = (version: 'v1' | 'v2') =>
  commitAndDeploy({ repo, client, taskQueue: stack.taskQueue, model: MODEL, version, pause: '1s' });

const stableOn = async (server: ServingServer) =>
  (
    (await fetch(`${server.url}/admin/v1/models/${MODEL}`, {
      headers: { authorization: `Bearer ${stack.dataPlane.adminToken}` },
    }).then((response) => response.json())) as { stable?: { version: string } }
  ).stable?.version;

beforeAll(async () => {
  scratch = await scratchDir();
  registry = await startRegistry();
  const key = await loadEvidenceKey({ home: scratch.path });
  evidencePublicKey = key.publicKeyPem;
  stack = await startTestStack('fleet', {
    desiredState: await openDesired(),
    registry: {
      url: registry.url,
      urls: {},
      credentials: { username: registry.username, password: registry.password },
    },
    evidenceKeyPath: key.path,
  });
  client = stack.client;
  repo = await irisRepo('modelship-fleet-repo-');
  await startFleetReplica('replica-a');
  await startFleetReplica('replica-b');
});

afterAll(async () => {
  for (const { server, replica } of replicas) {
    await replica.stop();
    await server.close();
  }
  await stack?.stop();
  for (const store of stores) await store.close();
  await registry?.close();
  await repo?.remove();
  await scratch?.remove();
});

describe.sequential('a rollout across two replicas following desired state', () => {
  it('serves the first version on every replica before the run says so', async () => {
    const handle = await deploy('v1');
    const result = await handle.result();
    expect(result.outcome).toBe('serving');
    for (const { server } of replicas)
      expect((await infer(server.url, MODEL, irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status).toBe(200);
  });

  it('holds a step while a live replica lags, naming it, and goes on once it is gone', async () => {
    const desired = await openDesired();
    const before = await desired.read('staging');
    // A replica that is alive (it reports) but never applies anything new.
    let stuck = true;
    const report = () =>
      desired.report({
        environment: 'staging',
        replica: 'replica-stuck',
        generation: before.generation,
        serving: before.generation,
        status: 'converged',
        startedAt: new Date().toISOString(),
      });
    await report();
    const reporting = (async () => {
      while (stuck) {
        await report();
        await new Promise((resolveWait) => setTimeout(resolveWait, 300));
      }
    })();

    const handle = await deploy('v2');
    await eventually(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.some((activity) => activity.lastFailure?.message?.includes('replica-stuck'));
    }, 60_000);
    // Held, not moved on: the real replicas serve the canary step, nothing is promoted.
    for (const { server } of replicas)
      expect(await stableOn(server)).toBe((await desired.read('staging')).models[MODEL]?.stable.version);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    stuck = false;
    await reporting;
    await desired.forgetReplicas('staging', { replica: 'replica-stuck' });
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    const promoted = (await desired.read('staging')).models[MODEL]?.stable.version;
    for (const { server } of replicas)
      await eventually(async () => (await stableOn(server)) === promoted, 10_000);
  });
});
