/**
 * `npm run bench:engine`: how fast the engine moves a model and how fast the durable data plane
 * follows. Writes `bench/results/engine.json` and prints a summary. `--only a,b` runs some
 * sections (rollout, concurrent, coldstart, convergence, restart); the sections not run keep
 * their figures from the file's previous run, each section saying when it was measured.
 *
 * - Five-step rollout (`rollout`): a real dev server (`temporal server start-dev`, in memory), a
 *   real modelship worker in its own process, a real data plane and a real Git repository. iris
 *   v1 is deployed (it serves at once), then v2 with five `setWeight` steps (20, 40, 60, 80, 100)
 *   and no bake time. The rollout is timed from the run's event history, the server's clock:
 *   from the workflow task that followed the data plane load (the rollout's first decision) to
 *   `promoteCandidate` completing. Resolving, scanning, validating and packaging come before and
 *   are reported apart (`before_rollout_ms`), not counted. One warm-up rollout, then `--repeats`
 *   (5) one after the other on an idle worker; medians. Target ≤ 1 s.
 * - Concurrent rollouts (`concurrent`): `--rollouts` (100) deployments of iris under different
 *   model names on one dev server, one worker process and one data plane. Each runs its
 *   pipeline and then waits at an approval placed before the same five steps; once all wait, all
 *   are approved at once, so the five steps of every rollout run together (the worst case; the
 *   JSON records how many overlapped). A step is timed from the history: from the workflow task
 *   scheduled after the previous step (or the approval) to `setCandidateWeight` completing,
 *   which holds both workflow tasks, the stage's audit record and the routing change, queueing
 *   included. p50/p99 over every step of every rollout (target p99 ≤ 2 s). The worker's memory
 *   comes from `/proc/<pid>/status`: idle before the first run, the largest `VmRSS` sampled every
 *   200 ms while the rollouts ran, and `VmHWM` (its lifetime peak, pipelines included).
 * - Worker cold start (`coldstart`): a short workflow (RetireModel of a model the data plane never
 *   had) is queued on a new task queue, a worker is spawned, and the time from the spawn to the
 *   workflow's result is taken (and to the worker saying it polls). `modelship worker` as shipped,
 *   which bundles the workflows at start, against the same worker given a prebuilt bundle
 *   (`test/support/worker-process.ts`); alternating, one warm-up each, `--cold-starts` (5) each;
 *   medians and their ratio.
 * - Convergence (`convergence`): two replicas (in this process, each with its own cache) follow
 *   one environment; the canary weight is changed `--changes` times and each change is timed from
 *   the write returning to both replicas reporting the new generation, read from the store as a
 *   rollout reads it. Once with the file store and once with PostgreSQL, side by side.
 * - Restart to serving (`restart`): `modelship serve --environment` started as a process with the
 *   state already written, timed from spawn to its first answered inference; with its cache kept
 *   from the run before (a restart) and with an empty disk (a new replica), side by side.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { concurrentRollouts, fiveStepRollout, workerColdStart } from './engine-rollouts.ts';
import { machineInfo, median } from './lib/machine.ts';
import { writeResultsFile } from './lib/results-file.ts';
import { startTemporalStack } from './lib/temporal-stack.ts';
import { round, summary } from './lib/timing.ts';

const ENV = 'bench';
const SECTIONS = ['rollout', 'concurrent', 'coldstart', 'convergence', 'restart'] as const;
type Section = (typeof SECTIONS)[number];
const USAGE = `Usage: npm run bench:engine [-- options]

  --only LIST        sections to run, comma-separated (default: all): ${SECTIONS.join(', ')}
  --repeats N        five-step rollouts timed one after the other (default 5, after one warm-up)
  --rollouts N       concurrent rollouts on one worker (default 100)
  --cold-starts N    worker cold starts of each kind (default 5, after one warm-up each)
  --changes N        routing changes timed for convergence (default 60)
  --restarts N       restarts of each kind timed for restart to serving (default 5)
  --postgres URL     PostgreSQL for the convergence section (default $MODELSHIP_TEST_POSTGRES_URL)`;
const { values } = parseArgs({
  options: {
    only: { type: 'string', default: SECTIONS.join(',') },
    repeats: { type: 'string', default: '5' },
    rollouts: { type: 'string', default: '100' },
    'cold-starts': { type: 'string', default: '5' },
    changes: { type: 'string', default: '60' },
    restarts: { type: 'string', default: '5' },
    postgres: {
      type: 'string',
      default: process.env.MODELSHIP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const CHANGES = Number(values.changes);
const RESTARTS = Number(values.restarts);
const ONLY = new Set(values.only.split(',').map((name) => name.trim()));
for (const name of ONLY) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    console.error(`bench:engine: unknown section "${name}"\n\n${USAGE}`);
    process.exit(2);
  }
}
const runs = (section: Section) => ONLY.has(section);
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

/** A signed home with iris v1 and v2 published to the `bench` environment's bundle store. */
async function prepareHome(home: string) {
  const key = generateSigningKeyPair();
  await mkdir(join(home, 'keys'), { recursive: true });
  await writeFile(join(home, 'keys', 'evidence.pub'), key.publicKeyPem);
  const publish = (version: string) =>
    publishSignedBundle({ home, environment: ENV, version, privateKeyPem: key.privateKeyPem });
  return { key, bundles: { v1: await publish('v1'), v2: await publish('v2') } };
}

async function convergenceSection(home: string, bundles: { v1: string; v2: string }, publicKeyPem: string) {
  console.log(`engine: convergence of ${CHANGES} routing changes across 2 replicas`);
  const fileStore = await openDesiredStateStore({ directory: desiredStateDirFor(home) });
  const file = await convergence(home, fileStore, bundles, publicKeyPem);
  await fileStore.close();
  const schema = `modelship_bench_${process.pid}`;
  const pgUrl = `${values.postgres}${values.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
  const pgStore = await openDesiredStateStore({ url: pgUrl, postgres: { schema } });
  const postgres = await convergence(home, pgStore, bundles, publicKeyPem);
  await pgStore.close();
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  return {
    replicas: 2,
    file_store: file,
    postgres_store: postgres,
    target_p99_ms: 1000,
    met: file.p99_ms <= 1000 && postgres.p99_ms <= 1000,
  };
}

/**
 * The state a restarted replica serves: what the convergence section left in the file store
 * under `home` (v1 stable, v2 at some canary weight), or the same written here when it did not run.
 */
async function ensureRestartState(home: string, bundles: { v1: string; v2: string }) {
  if (runs('convergence')) return;
  const store = await openDesiredStateStore({ directory: desiredStateDirFor(home) });
  await store.update(ENV, (models) =>
    serveFirstVersion(models, 'iris', { version: 'v1', bundle: bundles.v1 }),
  );
  await store.update(ENV, (models) => setCanary(models, 'iris', { version: 'v2', bundle: bundles.v2 }, 50));
  await store.close();
}

async function restartSection(home: string) {
  console.log(
    `engine: restart to serving, ${RESTARTS} times each with the cache kept and with an empty disk`,
  );
  const warm: number[] = [];
  const cold: number[] = [];
  await restartToServing(home, true); // first pull fills the cache
  for (let run = 0; run < RESTARTS; run += 1) {
    warm.push(await restartToServing(home, true));
    cold.push(await restartToServing(home, false));
  }
  return {
    model: 'iris',
    cache_kept: summary(warm),
    empty_disk: summary(cold),
    empty_over_kept: round(median(cold) / median(warm)),
    target_ms: 5000,
    met: median(cold) <= 5000 && median(warm) <= 5000,
  };
}

/** The sections that need Temporal, on one dev server, data plane and workflow bundle. */
async function temporalSections(): Promise<Partial<Record<Section, object>>> {
  if (!runs('rollout') && !runs('concurrent') && !runs('coldstart')) return {};
  console.log('engine: starting a Temporal dev server and a data plane; bundling the workflows');
  const stack = await startTemporalStack();
  const measured: Partial<Record<Section, object>> = {};
  try {
    if (runs('rollout')) {
      console.log(`engine: five-step rollout, 1 warm-up + ${values.repeats} timed, one at a time`);
      measured.rollout = await fiveStepRollout(stack, Number(values.repeats));
    }
    if (runs('concurrent')) {
      console.log(`engine: ${values.rollouts} concurrent rollouts on one worker`);
      measured.concurrent = await concurrentRollouts(stack, Number(values.rollouts));
    }
    if (runs('coldstart')) {
      console.log(`engine: worker cold start, 1 warm-up + ${values['cold-starts']} of each kind`);
      measured.coldstart = {
        ...(await workerColdStart(stack, Number(values['cold-starts']))),
        bundling_in_bench_process_ms: round(stack.bundleMs),
      };
    }
  } finally {
    await stack.stop();
  }
  return measured;
}

/** The JSON key of each section in `results/engine.json`. */
const RESULT_KEYS: Record<Section, string> = {
  rollout: 'five_step_rollout',
  concurrent: 'concurrent_rollouts',
  coldstart: 'worker_cold_start',
  convergence: 'convergence',
  restart: 'restart_to_serving',
};

/** The previous results, so that a partial run replaces only the sections it measured. */
async function previousResults(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function writeResults(measured: Partial<Record<Section, object>>, startedAt: string) {
  const out = join(REPO_ROOT, 'bench/results/engine.json');
  const previous = await previousResults(out);
  const result: Record<string, unknown> = {
    benchmark: 'engine',
    date: startedAt,
    machine: machineInfo(),
    sections_run: SECTIONS.filter(runs),
  };
  for (const section of SECTIONS) {
    const key = RESULT_KEYS[section];
    const fresh = measured[section];
    if (fresh) result[key] = { measured_at: startedAt, ...fresh };
    else if (previous[key]) result[key] = previous[key];
  }
  await writeResultsFile(out, result, (line) => console.error(line));
  return out;
}

const startedAt = new Date().toISOString();
const measured: Partial<Record<Section, object>> = {};
if (runs('convergence') || runs('restart')) {
  const scratch = await scratchDir();
  try {
    const home = scratch.path;
    const { key, bundles } = await prepareHome(home);
    if (runs('convergence')) measured.convergence = await convergenceSection(home, bundles, key.publicKeyPem);
    if (runs('restart')) {
      await ensureRestartState(home, bundles);
      measured.restart = await restartSection(home);
    }
  } finally {
    await scratch.remove();
  }
}
Object.assign(measured, await temporalSections());
const out = await writeResults(measured, startedAt);
const printed = Object.entries(measured).map(([section, figures]) => [
  RESULT_KEYS[section as Section],
  figures,
]);
console.log(JSON.stringify(Object.fromEntries(printed), null, 2));
console.log(`engine: wrote ${out}`);
