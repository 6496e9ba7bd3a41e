/**
 * `npm run bench:engine`: how fast the durable data plane follows its desired state. Writes
 * `bench/results/engine.json` and prints a summary.
 *
 * - Convergence: two replicas (in this process, each with its own cache) follow one
 *   environment; the canary weight is changed `--changes` times and each change is timed from
 *   the write returning to both replicas reporting the new generation, read from the store as a
 *   rollout reads it. Once with the file store and once with PostgreSQL, side by side.
 * - Restart to serving: `modelship serve --environment` started as a process with the state
 *   already written, timed from spawn to its first answered inference; with its cache kept from
 *   the run before (a restart) and with an empty disk (a new replica), side by side.
 *
 * Not measured yet (issue 12 item 8 asks for them too): the control overhead of a five-step
 * rollout, 100 concurrent rollouts, and worker cold start, which need a Temporal server here.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { desiredStateDirFor, openDesiredStateStore } from '../desired-state/open.ts';
import { serveFirstVersion, setCanary } from '../desired-state/routing.ts';
import type { DesiredStateStore } from '../desired-state/store.ts';
import { bundleStores } from '../oci/environment-stores.ts';
import { startReplica } from '../serving/replica.ts';
import { startServingServer } from '../serving/server.ts';
import { generateSigningKeyPair } from '../supply-chain/signing/index.ts';
import { infer, irisRequest, publishSignedBundle, scratchDir } from '../test/serving/support.ts';
import { REPO_ROOT } from '../test/support/paths.ts';
import { freePort } from '../worker/dev-server.ts';
import { machineInfo, median } from './lib/machine.ts';

const ENV = 'bench';
const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '60' },
    restarts: { type: 'string', default: '5' },
    postgres: {
      type: 'string',
      default: process.env.MODELSHIP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
  },
});
const CHANGES = Number(values.changes);
const RESTARTS = Number(values.restarts);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: round(median(sorted)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1) ?? Number.NaN),
  };
};
const round = (ms: number) => Math.round(ms * 10) / 10;
const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

async function waitForGeneration(
  desired: DesiredStateStore,
  generation: number,
  replicas: number,
): Promise<void> {
  for (;;) {
    const { reports } = await desired.replicas(ENV);
    if (reports.filter((report) => report.serving >= generation).length >= replicas) return;
    await sleep(2);
  }
}

/** Two replicas following `desired`; each canary change timed to both reporting it. */
async function convergence(
  home: string,
  desired: DesiredStateStore,
  bundles: { v1: string; v2: string },
  key: string,
) {
  const followers = [];
  for (const name of ['replica-a', 'replica-b']) {
    const server = await startServingServer({ insecureAdmin: true, followsEnvironment: ENV });
    const replica = await startReplica({
      environment: ENV,
      replica: name,
      url: server.url,
      desired,
      store: bundleStores({ home }).storeFor(ENV).store,
      cacheDir: join(home, `cache-${name}-${Date.now()}`),
      registry: server.registry,
      evidenceKeys: [key],
    });
    followers.push({ server, replica });
  }
  const first = await desired.update(ENV, (models) =>
    serveFirstVersion(models, 'iris', { version: 'v1', bundle: bundles.v1 }),
  );
  await waitForGeneration(desired, first.generation, 2);
  const times: number[] = [];
  for (let change = 0; change < CHANGES; change += 1) {
    const weight = 10 + (change % 80);
    const state = await desired.update(ENV, (models) =>
      setCanary(models, 'iris', { version: 'v2', bundle: bundles.v2 }, weight),
    );
    const started = performance.now();
    await waitForGeneration(desired, state.generation, 2);
    times.push(performance.now() - started);
  }
  for (const { server, replica } of followers) {
    await replica.stop();
    await server.close();
  }
  return summary(times);
}

/** Spawn to first 200 of `modelship serve --environment` over the file store under `home`. */
async function restartToServing(home: string, keepCache: boolean): Promise<number> {
  if (!keepCache) await rm(join(home, 'replica'), { recursive: true, force: true });
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin/modelship.mjs'),
      'serve',
      '--port',
      String(port),
      '--insecure-admin',
      '--environment',
      ENV,
    ],
    { env: { ...process.env, MODELSHIP_HOME: home, MODELSHIP_ADMIN_TOKEN: '' }, stdio: 'ignore' },
  );
  try {
    for (;;) {
      const status = await infer(
        `http://127.0.0.1:${port}`,
        'iris',
        irisRequest([[5.1, 3.5, 1.4, 0.2]]),
      ).then(
        (reply) => reply.status,
        () => 0,
      );
      if (status === 200) return performance.now() - started;
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
      await sleep(5);
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolveExit) =>
      child.exitCode === null ? child.once('exit', resolveExit) : resolveExit(null),
    );
  }
}

const scratch = await scratchDir();
try {
  const key = generateSigningKeyPair();
  const home = scratch.path;
  await mkdir(join(home, 'keys'), { recursive: true });
  await writeFile(join(home, 'keys', 'evidence.pub'), key.publicKeyPem);
  const publish = (version: string) =>
    publishSignedBundle({ home, environment: ENV, version, privateKeyPem: key.privateKeyPem });
  const bundles = { v1: await publish('v1'), v2: await publish('v2') };

  console.log(`engine: convergence of ${CHANGES} routing changes across 2 replicas`);
  const fileStore = await openDesiredStateStore({ directory: desiredStateDirFor(home) });
  const file = await convergence(home, fileStore, bundles, key.publicKeyPem);
  await fileStore.close();
  const schema = `modelship_bench_${process.pid}`;
  const pgUrl = `${values.postgres}${values.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
  const pgStore = await openDesiredStateStore({ url: pgUrl, postgres: { schema } });
  const postgres = await convergence(home, pgStore, bundles, key.publicKeyPem);
  await pgStore.close();
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();

  console.log(
    `engine: restart to serving, ${RESTARTS} times each with the cache kept and with an empty disk`,
  );
  // The file store under `home` already holds the state the last convergence left; a restart serves it.
  const warm: number[] = [];
  const cold: number[] = [];
  await restartToServing(home, true); // first pull fills the cache
  for (let run = 0; run < RESTARTS; run += 1) {
    warm.push(await restartToServing(home, true));
    cold.push(await restartToServing(home, false));
  }
  const result = {
    benchmark: 'engine',
    date: new Date().toISOString(),
    machine: machineInfo(),
    convergence: {
      replicas: 2,
      file_store: file,
      postgres_store: postgres,
      target_p99_ms: 1000,
      met: file.p99_ms <= 1000 && postgres.p99_ms <= 1000,
    },
    restart_to_serving: {
      model: 'iris',
      cache_kept: summary(warm),
      empty_disk: summary(cold),
      empty_over_kept: round(median(cold) / median(warm)),
      target_ms: 5000,
      met: median(cold) <= 5000 && median(warm) <= 5000,
    },
    not_measured: ['five-step rollout control overhead', '100 concurrent rollouts', 'worker cold start'],
  };
  const out = join(REPO_ROOT, 'bench/results/engine.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    JSON.stringify(
      { convergence: result.convergence, restart_to_serving: result.restart_to_serving },
      null,
      2,
    ),
  );
  console.log(`engine: wrote ${out}`);
} finally {
  await scratch.remove();
}
