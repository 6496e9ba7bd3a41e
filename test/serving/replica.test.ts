/**
 * A serve replica following its environment's desired state: real bundles pushed to an OCI
 * image layout with signed evidence, the file desired-state store, a real server answering
 * inference over HTTP. It serves what the record says, reports the generation it serves, comes
 * back from a restart on a fresh disk with no human action, refuses a bundle whose evidence no
 * trusted key signed (serving on what it had), and refuses admin writes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileDesiredStateStore } from '../../desired-state/file-store.ts';
import { promote, retire, serveFirstVersion, setCanary } from '../../desired-state/routing.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { type Replica, startReplica } from '../../serving/replica.ts';
import { type ServingServer, startServingServer } from '../../serving/server.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/index.ts';
import { eventually, infer, irisRequest, publishSignedBundle, scratchDir, TOKEN } from './support.ts';

const ENV = 'staging';
const trusted = generateSigningKeyPair();
const stranger = generateSigningKeyPair();

let scratch: Awaited<ReturnType<typeof scratchDir>>;
let desired: DesiredStateStore;
const stores = () => bundleStores({ home: scratch.path });
const bundles: Record<string, string> = {};

/** A bundle of iris `version` with evidence signed by `key`, pushed to the layout; its manifest digest. */
function published(version: string, key = trusted): Promise<string> {
  return publishSignedBundle({
    home: scratch.path,
    environment: ENV,
    version,
    privateKeyPem: key.privateKeyPem,
  });
}

/** A server following ENV and its replica, with a cache of its own (a machine of its own). */
async function startFollower(name: string): Promise<{ server: ServingServer; replica: Replica }> {
  const server = await startServingServer({ adminToken: TOKEN, followsEnvironment: ENV });
  const { store } = stores().storeFor(ENV);
  const replica = await startReplica({
    environment: ENV,
    replica: name,
    url: server.url,
    desired,
    store,
    cacheDir: join(scratch.path, `cache-${name}-${Date.now()}`),
    registry: server.registry,
    evidenceKeys: [trusted.publicKeyPem],
    heartbeatMs: 200,
  });
  return { server, replica };
}

async function reportOf(name: string) {
  const { reports } = await desired.replicas(ENV);
  return reports.find((report) => report.replica === name);
}

async function answers(url: string): Promise<number> {
  return (await infer(url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status;
}

beforeAll(async () => {
  scratch = await scratchDir();
  desired = await openFileDesiredStateStore(join(scratch.path, 'desired-state'), { pollIntervalMs: 200 });
  bundles.v1 = await published('v1');
  bundles.v2 = await published('v2');
});

afterAll(async () => {
  await desired?.close();
  await scratch?.remove();
});

describe.sequential('a replica following desired state', () => {
  let follower: { server: ServingServer; replica: Replica };

  it('serves the version the record names, pulled by digest, and reports the generation', async () => {
    follower = await startFollower('replica-a');
    // Nothing desired yet: nothing served, and the replica says it serves generation 0.
    expect(await answers(follower.server.url)).toBe(404);
    const state = await desired.update(ENV, (models) =>
      serveFirstVersion(models, 'iris', { version: 'v1', bundle: bundles.v1 as string }),
    );
    await eventually(async () => (await answers(follower.server.url)) === 200, 15_000);
    await eventually(async () => (await reportOf('replica-a'))?.serving === state.generation, 5_000);
    expect(await reportOf('replica-a')).toMatchObject({ status: 'converged', generation: state.generation });
  });

  it('assigns a canary at its weight, and refuses routing changes through the admin API', async () => {
    const state = await desired.update(ENV, (models) =>
      setCanary(models, 'iris', { version: 'v2', bundle: bundles.v2 as string }, 30),
    );
    await eventually(async () => (await reportOf('replica-a'))?.serving === state.generation, 15_000);
    const routing = await fetch(`${follower.server.url}/admin/v1/models/iris`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then((response) => response.json());
    expect(routing).toMatchObject({ stable: { version: 'v1' }, canary: { version: 'v2', weight: 30 } });

    const write = await fetch(`${follower.server.url}/admin/v1/models/iris/canary`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(write.status).toBe(409);
    expect(((await write.json()) as { error: string }).error).toContain(
      'follows the desired state of environment "staging"',
    );
  });

  it('comes back after a restart on a fresh disk with no human action', async () => {
    await follower.replica.stop();
    await follower.server.close();
    expect(await reportOf('replica-a')).toBeUndefined();
    follower = await startFollower('replica-a');
    await eventually(async () => (await answers(follower.server.url)) === 200, 15_000);
    const { generation } = await desired.read(ENV);
    await eventually(async () => (await reportOf('replica-a'))?.serving === generation, 5_000);
  });

  it('refuses a bundle whose evidence no trusted key signed, reporting why and serving on what it had', async () => {
    const before = (await desired.read(ENV)).generation;
    const forged = await published('bad-disagree', stranger);
    const state = await desired.update(ENV, (models) =>
      promote(models, 'iris', { version: 'v3', bundle: forged }),
    );
    await eventually(async () => (await reportOf('replica-a'))?.status === 'failed', 15_000);
    // Retried on every heartbeat (200 ms here), the report stays the failure, not a flicker.
    await new Promise((resolveWait) => setTimeout(resolveWait, 700));
    const report = await reportOf('replica-a');
    expect(report).toMatchObject({ status: 'failed', generation: state.generation, serving: before });
    expect(report?.message).toContain('no evidence signed by a trusted key');
    expect(report?.message).toContain(forged);
    expect(await answers(follower.server.url)).toBe(200);
  });

  it('retires a model the record no longer names', async () => {
    const state = await desired.update(ENV, (models) => retire(models, 'iris'));
    await eventually(async () => (await reportOf('replica-a'))?.serving === state.generation, 15_000);
    expect(await answers(follower.server.url)).toBe(404);
    await follower.replica.stop();
    await follower.server.close();
  });
});
