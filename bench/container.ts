/**
 * `npm run bench:container`: what running modelship from its container image costs. Writes
 * `bench/results/container.json` and prints a summary.
 *
 * - Image size: `docker image inspect` of `--image` (default `modelship:local`), with its layers.
 * - Serve cold start: a new container (`docker run -d --network host --read-only --tmpfs /tmp
 *   --user 10001:10001`, the admin token mounted read-only as the stack mounts it) running
 *   `modelship serve --environment bench`, timed from spawning `docker run` to the first 200 of
 *   `GET /v2/health/ready`, polled every 20 ms. Ready rather than live: ready is what the image's
 *   HEALTHCHECK asks by default, and it answers 503 only while a model has no ready version; the
 *   `bench` environment names no model, so ready answers as soon as the server takes requests,
 *   and the figure is the cost of starting, not of pulling and warming models.
 *   After the timing, the run also waits (untimed) for the replica to report generation 0, so a
 *   serve that listens and then dies (an unwritable home, say) fails the run instead of counting.
 * - CLI cold start: `docker run --rm … validate specs/examples/iris.yaml` with the spec and the iris
 *   model mounted read-only (validate parses the YAML, checks the schema and rules and hashes the
 *   model: a real one-shot command), and `--help` (Node, tsx and the CLI's entry point only);
 *   wall time from spawn to exit.
 * - The same commands on this host with `node bin/modelship.mjs` as the reference, each with a
 *   fresh MODELSHIP_HOME: once as a developer runs it (tsx's transform cache on), once with
 *   `TSX_DISABLE_CACHE=1` as the image sets it, so that the container's extra time splits into
 *   what Docker costs and what compiling the TypeScript at every start costs.
 *
 * Every measurement is taken once as a warm-up (not counted), then `--runs` times (default 7),
 * the variants interleaved within each round (container, host, host without cache) so that noise
 * from a shared machine lands on all of them alike; before each round the benchmark waits (up to
 * 5 s) for a quiet second. Containers are named `modelship-bench-<pid>-<n>` and removed by name,
 * even when a run fails or the benchmark is interrupted.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/support/paths.ts';
import { freePort } from '../worker/dev-server.ts';
import { machineInfo, median, waitForQuiet } from './lib/machine.ts';
import { stopChild } from './lib/processes.ts';
import { writeResultsFile } from './lib/results-file.ts';
import { round } from './lib/timing.ts';

const USAGE = `Usage: npm run bench:container [-- options]

  --image NAME   the image to measure (default modelship:local)
  --runs N       timed runs of each measurement, after one warm-up (default 7)`;
const { values } = parseArgs({
  options: {
    image: { type: 'string', default: 'modelship:local' },
    runs: { type: 'string', default: '7' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const IMAGE = values.image;
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`bench:container: --runs must be a whole number above 0, got "${values.runs}"\n\n${USAGE}`);
  process.exit(2);
}

const POLL_MS = 20;
const READY_PATH = '/v2/health/ready';
const ENVIRONMENT = 'bench';
const SECRET = '/run/secrets/admin-token';
/** The flags the stack runs modelship with (compose.yaml), minus its restart policy and init. */
const CONTAINER_FLAGS = ['--network', 'host', '--read-only', '--tmpfs', '/tmp', '--user', '10001:10001'];
const VALIDATE_ARGS = (root: string) => ['validate', `${root}/specs/examples/iris.yaml`, '--repo-root', root];
const REPO_MOUNTS = ['specs/examples', 'models/iris'].flatMap((dir) => [
  '-v',
  `${join(REPO_ROOT, dir)}:/repo/${dir}:ro`,
]);

const VARIANTS = ['container', 'host', 'host_no_tsx_cache'] as const;
type Variant = (typeof VARIANTS)[number];
const LABELS: Record<Variant, string> = {
  container: 'container',
  host: 'host',
  host_no_tsx_cache: 'host, no tsx cache',
};

const containers = new Set<string>();
const children = new Set<ChildProcess>();
let containerCount = 0;

/** Runs a command to its end; never rejects for a non-zero exit. */
function run(command: string, args: string[], env?: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    const started = performance.now();
    execFile(command, args, { env: env ?? process.env, cwd: REPO_ROOT }, (error, stdout, stderr) => {
      const ms = performance.now() - started;
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr, ms });
    });
  });
}

async function docker(args: string[]): Promise<string> {
  const result = await run('docker', args);
  if (result.code !== 0) throw new Error(`docker ${args[0]} failed: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

function newContainerName(): string {
  containerCount += 1;
  const name = `modelship-bench-${process.pid}-${containerCount}`;
  containers.add(name);
  return name;
}

async function removeContainer(name: string): Promise<void> {
  await run('docker', ['rm', '-f', name]);
  containers.delete(name);
}

/** Removes what is left on Ctrl-C, synchronously: the process exits right after. */
function removeEverythingNow(scratch: string): void {
  for (const child of children) child.kill('SIGKILL');
  try {
    if (containers.size > 0) execFileSync('docker', ['rm', '-f', ...containers], { stdio: 'ignore' });
  } catch {
    // a --rm container already gone makes rm exit 1; the others were still removed
  }
  rmSync(scratch, { recursive: true, force: true });
}

/** The image's size and layers; exits with what to do when the image is not there. */
async function imageFacts(image: string) {
  const inspected = await run('docker', [
    'image',
    'inspect',
    '-f',
    '{{.Size}}\t{{.Id}}\t{{.Created}}\t{{json .Config.Labels}}',
    image,
  ]).catch((error: Error) => ({ code: -1, stdout: '', stderr: error.message, ms: 0 }));
  if (inspected.code !== 0) {
    const missing = /no such image/i.test(inspected.stderr);
    console.error(
      missing
        ? `bench:container: the image ${image} does not exist. Build it first: \`modelship stack up --stand-ins\` builds it, or \`docker build --network host -f docker/Dockerfile -t ${image} .\``
        : `bench:container: cannot inspect ${image} (is Docker running?): ${inspected.stderr.trim()}`,
    );
    process.exit(1);
  }
  const [size = '', id = '', created = '', labels = 'null'] = inspected.stdout.trim().split('\t');
  const labelled = (JSON.parse(labels) ?? {}) as Record<string, string>;
  const revision = labelled['org.opencontainers.image.revision'] ?? null;
  const history = await docker([
    'history',
    '--human=false',
    '--no-trunc',
    '--format',
    '{{.Size}}\t{{.CreatedBy}}',
    image,
  ]);
  const layers = history
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([bytes]) => Number(bytes) > 0)
    .map(([bytes, createdBy = '']) => ({
      size_bytes: Number(bytes),
      created_by: layerStep(createdBy),
    }))
    .reverse();
  return { name: image, id, created, revision, size_bytes: Number(size), size_mb: mb(Number(size)), layers };
}

/** A layer's build step, short: `COPY → /app`, `RUN apt-get …`, or the base image's layers. */
function layerStep(createdBy: string): string {
  const copied = / in (\S+)\s*$/.exec(createdBy);
  if (createdBy.includes('#(nop) COPY') && copied) return `COPY → ${copied[1]}`;
  const command = createdBy.split('/bin/sh -c ').at(-1)?.trim() ?? '';
  return command === '' ? '(base image)' : `RUN ${command.slice(0, 60)}`;
}

/** Megabytes of 10^6 bytes, as `docker images` prints them. */
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

/** The status of one GET, 0 when nothing answered. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

/** Polls until `url` answers 200; every second asks `gone` whether the server died meanwhile. */
async function untilReady(url: string, gone: () => Promise<string | undefined>, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  for (let poll = 1; ; poll += 1) {
    if ((await statusOf(url)) === 200) return performance.now();
    if (poll % 50 === 0) {
      const why = await gone();
      if (why !== undefined) throw new Error(why);
    }
    if (performance.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/** Waits (untimed) until `read()` shows the replica serving: proof that serve did more than listen. */
async function untilServing(read: () => Promise<string>, what: string) {
  const deadline = performance.now() + 15_000;
  for (;;) {
    const text = await read();
    if (/serving generation \d+ of/.test(text)) return;
    if (performance.now() > deadline)
      throw new Error(`${what} answered ready but never reported serving its environment:\n${text}`);
    await sleep(100);
  }
}

interface Setup {
  tokenFile: string;
  scratch: string;
}

/** The host's environment without modelship or Temporal settings, so that both sides start alike. */
function hostEnv(home: string, tsxCache: boolean): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('MODELSHIP_') && !key.startsWith('TEMPORAL_') && key !== 'TSX_DISABLE_CACHE',
    ),
  );
  return { ...env, MODELSHIP_HOME: home, ...(tsxCache ? {} : { TSX_DISABLE_CACHE: '1' }) };
}

const serveArgs = (port: number, tokenFile: string) => [
  'serve',
  '--host',
  '127.0.0.1',
  '--port',
  String(port),
  '--environment',
  ENVIRONMENT,
  '--admin-token-file',
  tokenFile,
];

interface Timed {
  ms: number;
  /** Container serve only: when `docker run -d` returned (the container started). */
  dockerRunMs?: number;
}

async function serveInContainer(setup: Setup): Promise<Timed> {
  const name = newContainerName();
  const port = await freePort();
  const args = ['run', '-d', '--name', name, '--label', 'modelship.bench=container', ...CONTAINER_FLAGS];
  args.push('-e', 'MODELSHIP_HOME=/tmp/modelship', '-v', `${setup.tokenFile}:${SECRET}:ro`);
  args.push(IMAGE, ...serveArgs(port, SECRET));
  try {
    const started = performance.now();
    const dockerRun = run('docker', args);
    let failed: string | undefined;
    void dockerRun.then((result) => {
      if (result.code !== 0) failed = `docker run failed: ${result.stderr.trim()}`;
    });
    const ready = await untilReady(`http://127.0.0.1:${port}${READY_PATH}`, async () => {
      if (failed !== undefined) return failed;
      const state = await run('docker', ['inspect', '-f', '{{.State.Status}}', name]);
      if (state.stdout.trim() !== 'exited') return undefined;
      return `the container exited before it was ready:\n${(await run('docker', ['logs', name])).stderr}`;
    });
    const dockerRunMs = (await dockerRun).ms;
    await untilServing(async () => {
      const logs = await run('docker', ['logs', name]);
      return logs.stdout + logs.stderr;
    }, `container ${name}`);
    return { ms: ready - started, dockerRunMs };
  } finally {
    await removeContainer(name);
  }
}

async function serveOnHost(setup: Setup, tsxCache: boolean): Promise<Timed> {
  const home = await mkdtemp(join(setup.scratch, 'home-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin/modelship.mjs'), ...serveArgs(port, setup.tokenFile)],
    { cwd: REPO_ROOT, env: hostEnv(home, tsxCache), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  try {
    const ready = await untilReady(`http://127.0.0.1:${port}${READY_PATH}`, async () =>
      child.exitCode === null
        ? undefined
        : `serve exited with ${child.exitCode} before it was ready:\n${output}`,
    );
    await untilServing(async () => output, 'serve on the host');
    return { ms: ready - started };
  } finally {
    await stopChild(child);
    children.delete(child);
    await rm(home, { recursive: true, force: true });
  }
}

/** One CLI command in a new container (`--rm`), wall time from spawn to exit. */
async function cliInContainer(args: string[], expect: string): Promise<Timed> {
  const name = newContainerName();
  try {
    const result = await run('docker', [
      'run',
      '--rm',
      '--name',
      name,
      ...CONTAINER_FLAGS,
      ...REPO_MOUNTS,
      IMAGE,
      ...args,
    ]);
    if (result.code !== 0 || !result.stdout.includes(expect))
      throw new Error(
        `docker run … ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`,
      );
    return { ms: result.ms };
  } finally {
    containers.delete(name); // --rm removed it; the name is kept only for an interruption
  }
}

async function cliOnHost(setup: Setup, args: string[], expect: string, tsxCache: boolean): Promise<Timed> {
  const home = await mkdtemp(join(setup.scratch, 'home-'));
  try {
    const result = await run(
      process.execPath,
      [join(REPO_ROOT, 'bin/modelship.mjs'), ...args],
      hostEnv(home, tsxCache),
    );
    if (result.code !== 0 || !result.stdout.includes(expect))
      throw new Error(`modelship ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
    return { ms: result.ms };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** One measurement, three ways. */
interface Measurement {
  key: string;
  label: string;
  how: Record<Variant, (setup: Setup) => Promise<Timed>>;
}

const MEASUREMENTS: Measurement[] = [
  {
    key: 'serve_cold_start',
    label: `serve → ${READY_PATH}`,
    how: {
      container: (setup) => serveInContainer(setup),
      host: (setup) => serveOnHost(setup, true),
      host_no_tsx_cache: (setup) => serveOnHost(setup, false),
    },
  },
  {
    key: 'cli_cold_start',
    label: 'validate iris.yaml',
    how: {
      container: () => cliInContainer(VALIDATE_ARGS('/repo'), 'ok '),
      host: (setup) => cliOnHost(setup, VALIDATE_ARGS(REPO_ROOT.replace(/\/$/, '')), 'ok ', true),
      host_no_tsx_cache: (setup) =>
        cliOnHost(setup, VALIDATE_ARGS(REPO_ROOT.replace(/\/$/, '')), 'ok ', false),
    },
  },
  {
    key: 'help_cold_start',
    label: '--help',
    how: {
      container: () => cliInContainer(['--help'], 'Usage'),
      host: (setup) => cliOnHost(setup, ['--help'], 'Usage', true),
      host_no_tsx_cache: (setup) => cliOnHost(setup, ['--help'], 'Usage', false),
    },
  },
];

function spread(times: Timed[]) {
  const ms = times.map((time) => time.ms);
  const dockerRun = times.flatMap((time) => (time.dockerRunMs === undefined ? [] : [time.dockerRunMs]));
  return {
    n: ms.length,
    median_ms: round(median(ms)),
    min_ms: round(Math.min(...ms)),
    max_ms: round(Math.max(...ms)),
    runs_ms: ms.map(round),
    ...(dockerRun.length > 0 ? { docker_run_returned_median_ms: round(median(dockerRun)) } : {}),
  };
}

type Results = Record<string, Record<Variant, Timed[]>>;

/** One warm-up round, then `RUNS` rounds; each round takes every measurement every way, interleaved. */
async function measureAll(setup: Setup) {
  const timed: Results = {};
  const warmUp: Results = {};
  const quietWaitsMs: number[] = [];
  for (let pass = 0; pass <= RUNS; pass += 1) {
    const into = pass === 0 ? warmUp : timed;
    const tag = pass === 0 ? 'warm-up' : `${pass}/${RUNS}`;
    quietWaitsMs.push(await waitForQuiet(5000));
    for (const { key, label, how } of MEASUREMENTS) {
      for (const variant of VARIANTS) {
        const time = await how[variant](setup);
        into[key] ??= { container: [], host: [], host_no_tsx_cache: [] };
        into[key][variant].push(time);
        const started =
          time.dockerRunMs === undefined
            ? ''
            : `  (docker run -d returned at ${time.dockerRunMs.toFixed(0)} ms)`;
        console.log(
          `container: [${tag}] ${label.padEnd(24)} ${LABELS[variant].padEnd(19)} ${time.ms.toFixed(1).padStart(7)} ms${started}`,
        );
      }
    }
  }
  return { timed, warmUp, quietWaitsMs };
}

function summarize({ timed, warmUp }: { timed: Results; warmUp: Results }) {
  const out: Record<string, object> = {};
  for (const { key, label } of MEASUREMENTS) {
    const per = timed[key];
    if (!per) continue;
    const container = spread(per.container);
    const host = spread(per.host);
    const hostNoCache = spread(per.host_no_tsx_cache);
    out[key] = {
      what: label,
      container: { ...container, warm_up_ms: round(warmUp[key]?.container[0]?.ms ?? Number.NaN) },
      host: { ...host, warm_up_ms: round(warmUp[key]?.host[0]?.ms ?? Number.NaN) },
      host_no_tsx_cache: {
        ...hostNoCache,
        warm_up_ms: round(warmUp[key]?.host_no_tsx_cache[0]?.ms ?? Number.NaN),
      },
      container_over_host: Math.round((container.median_ms / host.median_ms) * 100) / 100,
      container_over_host_no_tsx_cache: Math.round((container.median_ms / hostNoCache.median_ms) * 100) / 100,
    };
  }
  return out;
}

function printTable(image: Awaited<ReturnType<typeof imageFacts>>, summary: Record<string, object>) {
  const layers = image.layers.map((layer) => `${mb(layer.size_bytes)} MB ${layer.created_by}`);
  console.log(`\ncontainer: image ${image.name} ${image.size_mb} MB (${image.size_bytes} bytes)`);
  for (const layer of layers) console.log(`  layer ${layer}`);
  const cell = (figures: { median_ms: number; min_ms: number; max_ms: number }) =>
    `${figures.median_ms.toFixed(0)} (${figures.min_ms.toFixed(0)}–${figures.max_ms.toFixed(0)})`.padStart(
      20,
    );
  console.log(`\nmedian (min–max) ms over ${RUNS} run(s)`);
  console.log(`${''.padEnd(26)}${VARIANTS.map((v) => LABELS[v].padStart(20)).join('')}   container/host`);
  for (const { key, label } of MEASUREMENTS) {
    const row = summary[key] as Record<Variant, { median_ms: number; min_ms: number; max_ms: number }> & {
      container_over_host: number;
    };
    console.log(
      `${label.padEnd(26)}${VARIANTS.map((v) => cell(row[v])).join('')}   ×${row.container_over_host}`,
    );
  }
}

async function dockerFacts() {
  const versions = await docker(['version', '--format', '{{.Server.Version}}|{{.Client.Version}}']);
  // Not a tab: docker's --format output goes through a tab writer, which turns tabs into spaces.
  const [server = '', client = ''] = versions.split('|');
  const driver = await docker(['info', '--format', '{{.Driver}}']);
  return { docker_server_version: server, docker_client_version: client, storage_driver: driver };
}

const startedAt = new Date().toISOString();
const startedMs = performance.now();
const image = await imageFacts(IMAGE);
const machine = { ...machineInfo(), ...(await dockerFacts()) };
console.log(
  `container: ${IMAGE} is ${image.size_mb} MB; ${RUNS} run(s) of each measurement after one warm-up`,
);
const scratch = await mkdtemp(join(tmpdir(), 'modelship-bench-container-'));
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    removeEverythingNow(scratch);
    process.exit(code);
  });
}
let measured: Awaited<ReturnType<typeof measureAll>>;
try {
  const tokenFile = join(scratch, 'admin-token');
  await writeFile(tokenFile, `bench-${process.pid}-${Date.now()}\n`);
  await chmod(tokenFile, 0o444); // the container's user (10001) reads it through the bind mount
  measured = await measureAll({ tokenFile, scratch });
} finally {
  await Promise.all([...containers].map(removeContainer));
  await rm(scratch, { recursive: true, force: true });
}
const summary = summarize(measured);
const out = join(REPO_ROOT, 'bench/results/container.json');
await writeResultsFile(
  out,
  {
    benchmark: 'container',
    date: startedAt,
    machine,
    method: {
      statistic: `median, min and max of ${RUNS} run(s) of each measurement, after one warm-up run of each (excluded, warm_up_ms)`,
      runs: RUNS,
      order:
        'rounds; in each round serve, validate and --help, each as container, host, host without tsx cache, one after the other',
      quiet_wait:
        'before each round, up to 5 s of waiting for a second in which the machine is busy < 15 % of a core (quiet_waits_ms)',
      container_flags: CONTAINER_FLAGS.join(' '),
      serve: `docker run -d ${CONTAINER_FLAGS.join(' ')} -e MODELSHIP_HOME=/tmp/modelship -v <token>:${SECRET}:ro ${IMAGE} ${serveArgs(0, SECRET).join(' ').replace('--port 0', '--port <free port>')}; host: node bin/modelship.mjs serve … --admin-token-file <token>, MODELSHIP_HOME a new empty directory`,
      serve_timed: `from spawning docker run (or node) to the first 200 of GET ${READY_PATH}, polled every ${POLL_MS} ms; ready, not live: with no model in the environment ready answers 200 as soon as the server takes requests. Each run then waits (untimed) for the replica to report generation 0, and the container is removed with docker rm -f`,
      cli: `docker run --rm ${CONTAINER_FLAGS.join(' ')} -v specs/examples and models/iris read-only under /repo ${IMAGE} ${VALIDATE_ARGS('/repo').join(' ')} (and --help); host: node bin/modelship.mjs with the same arguments; wall time from spawn to exit`,
      host_variants:
        'host: tsx transform cache on (as a developer runs it); host_no_tsx_cache: TSX_DISABLE_CACHE=1, as the image sets it',
      duration_s: Math.round((performance.now() - startedMs) / 1000),
    },
    image,
    ...summary,
    quiet_waits_ms: measured.quietWaitsMs,
  },
  (line) => console.error(line),
);
printTable(image, summary);
console.log(`\ncontainer: wrote ${out}`);
