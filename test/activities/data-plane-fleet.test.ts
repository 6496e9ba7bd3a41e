/**
 * The fleet data-plane activities against the real file desired-state store and bundles in a real
 * OCI layout, with replica reports written into the store as replicas write them: a replica
 * that cannot apply a step fails it for good, naming itself; a live one that lags fails only the
 * attempt (retried), naming itself; a version never packaged for the environment is refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetDataPlaneActivities } from '../../activities/data-plane-fleet.ts';
import { FailureType } from '../../activities/failures.ts';
import { openFileDesiredStateStore } from '../../desired-state/file-store.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import type { DeploymentRef } from '../../domain/deployment.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/index.ts';
import { makeBundle, publishSignedBundle, scratchDir } from '../serving/support.ts';
import { replicaReporter } from '../support/fleet.ts';
import { expectDomainFailure } from './support.ts';

const key = generateSigningKeyPair();
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let desired: DesiredStateStore;
let v1: string;
const deployment: DeploymentRef = {
  model: 'iris',
  environment: 'staging',
  commit: 'a'.repeat(40),
  specPath: 'specs/iris.yaml',
  repository: 'https://git.example.com/ml/models.git',
};

/** The bundle digest `makeBundle` gives iris v1 (the version name is its first 12 characters). */
async function bundleDigestOf(version: string): Promise<string> {
  const dir = await makeBundle({ root: join(scratch.path, 'digests'), version });
  return (JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { digest: string }).digest;
}

const activities = () =>
  createFleetDataPlaneActivities({
    desired,
    stores: bundleStores({ home: scratch.path }),
    adminToken: undefined,
    waitMs: 600,
    pollMs: 20,
  });

const report = replicaReporter(() => desired, 'staging');

beforeAll(async () => {
  scratch = await scratchDir();
  desired = await openFileDesiredStateStore(join(scratch.path, 'desired-state'));
  v1 = await bundleDigestOf('v1');
  await publishSignedBundle({
    home: scratch.path,
    environment: 'staging',
    version: 'v1',
    privateKeyPem: key.privateKeyPem,
  });
});

afterAll(async () => {
  await desired?.close();
  await scratch?.remove();
});

describe.sequential('fleet data-plane activities', () => {
  it('waits while no replica is live, then fails the attempt saying so', async () => {
    const attempt = activities().loadIntoDataPlane({ deployment, bundle: { digest: v1, path: '/nowhere' } });
    await expect(attempt).rejects.toThrow(/waiting for the data plane: .*no live replica/i);
    // The record was written once; the retry waits for the same generation.
    expect((await desired.read('staging')).generation).toBe(1);
  });

  it('completes when every live replica serves the generation', async () => {
    await report('replica-a', 1, 1, 'converged');
    const loaded = await activities().loadIntoDataPlane({
      deployment,
      bundle: { digest: v1, path: '/nowhere' },
    });
    expect(loaded).toMatchObject({
      version: v1.slice(0, 12),
      becameStable: true,
      routing: { generation: 1 },
    });
  });

  it('fails the attempt naming a live replica that lags', async () => {
    await report('replica-b', 0, 0, 'converged');
    const attempt = activities().loadIntoDataPlane({ deployment, bundle: { digest: v1, path: '/nowhere' } });
    await expect(attempt).rejects.toThrow(/replica-b/);
    await desired.forgetReplicas('staging', { replica: 'replica-b' });
  });

  it('fails the step for good when a replica reports it cannot apply it', async () => {
    await report('replica-a', 2, 1, 'failed', 'bundle sha256:… has no evidence signed by a trusted key');
    // Retiring the model writes generation 2, which replica-a says it cannot apply.
    const failure = await expectDomainFailure(
      activities().retireFromDataPlane({ deployment }),
      FailureType.DataPlaneRejected,
    );
    expect(failure.message).toContain('replica-a');
  });

  it('refuses a version never packaged for the environment', async () => {
    const failure = await expectDomainFailure(
      activities().setCandidateWeight({ deployment, version: 'ffffffffffff', weight: 10 }),
      FailureType.DataPlaneRejected,
    );
    expect(failure.message).toContain('must be packaged for staging first');
  });

  it('restores an earlier version by its tag after it was forgotten, checked against its bundle digest', async () => {
    const v2 = await bundleDigestOf('v2');
    await publishSignedBundle({
      home: scratch.path,
      environment: 'staging',
      version: 'v2',
      privateKeyPem: key.privateKeyPem,
    });
    // A replica that is quick: it reports the generation each change is about to write.
    const next = async <T>(change: () => Promise<T>): Promise<T> => {
      const generation = (await desired.read('staging')).generation + 1;
      await report('replica-a', generation, generation, 'converged');
      return change();
    };
    const fleet = activities();
    await next(() => fleet.loadIntoDataPlane({ deployment, bundle: { digest: v1, path: '/nowhere' } }));
    await next(() => fleet.promoteCandidate({ deployment, version: v2.slice(0, 12) }));
    await next(() => fleet.unloadFromDataPlane({ deployment, version: v1.slice(0, 12) }));
    expect((await desired.read('staging')).models.iris?.previousStable).toBeNull();

    const wrong = await expectDomainFailure(
      fleet.restoreVersion({ deployment, version: v1.slice(0, 12), bundleDigest: v2, reason: 'test' }),
      FailureType.DataPlaneRejected,
    );
    expect(wrong.message).toContain('is not the modelship bundle of version');

    const restored = await next(() =>
      fleet.restoreVersion({
        deployment,
        version: v1.slice(0, 12),
        bundleDigest: v1,
        reason: 'live accuracy below its floor',
      }),
    );
    expect(restored).toMatchObject({ stable: v1.slice(0, 12), canary: null });
    const routing = (await desired.read('staging')).models.iris;
    expect(routing?.stable.version).toBe(v1.slice(0, 12));
    expect(routing?.previousStable?.version).toBe(v2.slice(0, 12));
  });
});
