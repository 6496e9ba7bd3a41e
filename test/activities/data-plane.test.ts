/**
 * The rollout's data-plane activities against a real serving server over real HTTP: what each
 * call does to live routing, that repeating a call changes nothing, and which refusals are final.
 */

import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataPlaneActivities } from '../../activities/data-plane.ts';
import { versionForBundle } from '../../domain/bundle-format.ts';
import { createAdminClient } from '../../serving/admin-client.ts';
import {
  infer,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
  TOKEN,
} from '../serving/support.ts';
import { deploymentRef } from './support.ts';

let server: TestServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let activities: ReturnType<typeof createDataPlaneActivities>;
const deployment = { ...deploymentRef(), model: 'iris-dp' };
const bundles = { v1: { digest: 'a'.repeat(64), path: '' }, v2: { digest: 'b'.repeat(64), path: '' } };

beforeAll(async () => {
  scratch = await scratchDir();
  server = await startTestServer();
  bundles.v1.path = await makeBundle({ root: scratch.path, version: 'v1', model: 'iris-dp' });
  bundles.v2.path = await makeBundle({ root: scratch.path, version: 'v2', model: 'iris-dp' });
  // Packaging leaves bundles at <home>/bundles/<digest>: the restore reloads v1 from there.
  await mkdir(join(scratch.path, 'bundles'));
  await symlink(bundles.v1.path, join(scratch.path, 'bundles', bundles.v1.digest));
  activities = createDataPlaneActivities({
    admin: createAdminClient({ baseUrl: server.url, token: TOKEN }),
    bundlesDir: join(scratch.path, 'bundles'),
  });
});

afterAll(async () => {
  await server?.close();
  await scratch?.remove();
});

describe('data-plane activities', () => {
  it('makes the first version stable, and loading it again changes nothing', async () => {
    const first = await activities.loadIntoDataPlane({ deployment, bundle: bundles.v1 });
    expect(first).toMatchObject({ version: versionForBundle(bundles.v1.digest), becameStable: true });
    const again = await activities.loadIntoDataPlane({ deployment, bundle: bundles.v1 });
    expect(again.becameStable).toBe(true);
    expect(again.routing.loaded).toEqual([first.version]);
  });

  it('loads a candidate without traffic, shifts weight, mirrors, promotes and rolls back', async () => {
    const v1 = versionForBundle(bundles.v1.digest);
    const candidate = await activities.loadIntoDataPlane({ deployment, bundle: bundles.v2 });
    expect(candidate.becameStable).toBe(false);
    expect(candidate.routing.stable).toBe(v1);
    const v2 = candidate.version;

    expect((await activities.mirrorToCandidate({ deployment, version: v2 })).shadow).toBe(v2);
    expect((await activities.stopMirroring({ deployment })).shadow).toBeNull();
    expect((await activities.setCandidateWeight({ deployment, version: v2, weight: 25 })).canary).toEqual({
      version: v2,
      weight: 25,
    });

    // Live traffic now splits, and the metrics activity sees both versions.
    for (let i = 0; i < 40; i += 1) await infer(server.url, 'iris-dp', irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    const metrics = await activities.readModelMetrics({ deployment });
    expect(Object.keys(metrics.versions).sort()).toEqual([v1, v2].sort());
    expect((metrics.versions[v1]?.requests ?? 0) + (metrics.versions[v2]?.requests ?? 0)).toBe(40);

    const rolledBack = await activities.rollbackCandidate({ deployment, reason: 'test rollback' });
    expect(rolledBack).toMatchObject({ stable: v1, canary: null, shadow: null });
    // Rolling back twice is the same as once.
    expect(await activities.rollbackCandidate({ deployment, reason: 'again' })).toMatchObject({ stable: v1 });

    await activities.loadIntoDataPlane({ deployment, bundle: bundles.v2 });
    expect(await activities.promoteCandidate({ deployment, version: v2 })).toMatchObject({
      stable: v2,
      canary: null,
    });
    expect(await activities.promoteCandidate({ deployment, version: v2 })).toMatchObject({ stable: v2 });
  });

  it('restores an earlier version after promotion, loading it again from its bundle', async () => {
    const v1 = versionForBundle(bundles.v1.digest);
    const v2 = versionForBundle(bundles.v2.digest);
    await activities.loadIntoDataPlane({ deployment, bundle: bundles.v2 });
    await activities.promoteCandidate({ deployment, version: v2 });
    await activities.unloadFromDataPlane({ deployment, version: v1 });
    expect((await activities.promoteCandidate({ deployment, version: v2 })).loaded).toEqual([v2]);

    // Unloaded and no digest to find it by: refused, and nothing changed.
    const refused = await activities
      .restoreVersion({ deployment, version: v1, reason: 'test' })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ type: 'DataPlaneRejected', nonRetryable: true });
    expect((refused as Error).message).toContain('no longer loaded');

    const restored = await activities.restoreVersion({
      deployment,
      version: v1,
      bundleDigest: bundles.v1.digest,
      reason: 'live accuracy below its floor',
    });
    expect(restored).toMatchObject({ stable: v1, canary: null });
    // The digest the bundle's manifest gives (the test names its bundles' versions by hand).
    expect(restored.stableBundleDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(restored.loaded.sort()).toEqual([v1, v2].sort());
    // Again: the same.
    expect(
      await activities.restoreVersion({
        deployment,
        version: v1,
        bundleDigest: bundles.v1.digest,
        reason: 'again',
      }),
    ).toMatchObject({ stable: v1 });
    expect(await infer(server.url, 'iris-dp', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).toMatchObject({
      status: 200,
    });
  });

  it('turns a refused request into a non-retryable DataPlaneRejected', async () => {
    const failure = await activities
      .setCandidateWeight({ deployment, version: 'not-loaded', weight: 10 })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'DataPlaneRejected', nonRetryable: true });
    expect((failure as ApplicationFailure).message).toContain('not-loaded');
  });

  it('leaves an unreachable data plane to Temporal retries (not a domain failure)', async () => {
    const offline = createDataPlaneActivities({
      admin: createAdminClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN, timeoutMs: 2_000 }),
      bundlesDir: scratch.path,
    });
    const failure = await offline
      .loadIntoDataPlane({ deployment, bundle: bundles.v1 })
      .catch((error: unknown) => error);
    expect(failure).not.toBeInstanceOf(ApplicationFailure);
    expect(String(failure)).toMatch(/127\.0\.0\.1:1|ECONNREFUSED|fetch failed/);
  });

  it('retires the model: traffic stops, and retiring again is a quiet no-op', async () => {
    const retired = await activities.retireFromDataPlane({ deployment });
    expect(retired).toMatchObject({ retired: true });
    expect(retired.draining.length).toBeGreaterThan(0);
    expect((await infer(server.url, 'iris-dp', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status).toBe(404);
    expect(await activities.retireFromDataPlane({ deployment })).toMatchObject({
      retired: false,
      draining: [],
    });
  });
});
