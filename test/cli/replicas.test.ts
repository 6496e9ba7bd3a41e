/**
 * `modelship replicas --env E` as an operator runs it, over the real file desired-state store:
 * the routing, each replica's standing as a rollout judges it, exit 1 while one lags or failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileDesiredStateStore } from '../../desired-state/file-store.ts';
import { desiredStateDirFor } from '../../desired-state/open.ts';
import { serveFirstVersion, setCanary } from '../../desired-state/routing.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { replicaReporter } from '../support/fleet.ts';
import { repoPath } from '../support/paths.ts';

let home: string;
let desired: DesiredStateStore;
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

function replicas(args: string[]) {
  const run = spawnSync(process.execPath, [repoPath('bin/modelship.mjs'), 'replicas', ...args], {
    env: { ...process.env, MODELSHIP_HOME: home, MODELSHIP_DESIRED_STATE_URL: '' },
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const report = replicaReporter(() => desired, 'staging');

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'modelship-replicas-cli-'));
  desired = await openFileDesiredStateStore(desiredStateDirFor(home));
  await desired.update('staging', (models) =>
    serveFirstVersion(models, 'iris', { version: 'v1', bundle: A }),
  );
  await desired.update('staging', (models) => setCanary(models, 'iris', { version: 'v2', bundle: B }, 20));
});

afterAll(async () => {
  await desired?.close();
  await rm(home, { recursive: true, force: true });
});

describe('modelship replicas', () => {
  it('exits 1 when no replica is live, after showing the routing', () => {
    const run = replicas(['--env', 'staging']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('staging: generation 2');
    expect(run.stdout).toContain('iris: stable v1, canary v2 at 20 %');
    expect(run.stdout).toContain('replicas: none has reported');
  });

  it('names a lagging replica and exits 1; exits 0 once every live replica serves the generation', async () => {
    await report('replica-a', 2, 2, 'converged');
    await report('replica-b', 2, 1, 'converging', 'pulling v2');
    const lagging = replicas(['--env', 'staging']);
    expect(lagging.status).toBe(1);
    expect(lagging.stdout).toContain('replica-a: serves generation 2');
    expect(lagging.stdout).toMatch(/replica-b: lagging: /);

    await report('replica-b', 2, 2, 'converged');
    const done = replicas(['--env', 'staging', '--json']);
    expect(done.status).toBe(0);
    expect(JSON.parse(done.stdout).convergence).toMatchObject({ state: 'done', target: 2 });
  });

  it('shows a replica that cannot apply the generation as failed, with its reason', async () => {
    await report('replica-b', 2, 1, 'failed', 'bundle has no evidence signed by a trusted key');
    const run = replicas(['--env', 'staging']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      'replica-b: FAILED at generation 2: bundle has no evidence signed by a trusted key',
    );
  });

  it('requires --env', () => {
    const run = replicas([]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--env is required');
  });
});
