/**
 * `npm run bench:serving`: raw `session.run`, the floor server, modelship's server and the Python
 * peer on the same model and payload in one run, plus the canary split and swaps under load.
 * Writes `bench/results/serving.json` and prints a table. See `bench/README.md` for the method.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAdminClient } from '../serving/admin-client.ts';
import { TransportKind } from '../serving/loadgen/index.ts';
import { REPO_ROOT } from '../test/support/paths.ts';
import { freePort } from '../worker/dev-server.ts';
import { type Dataset, packageExampleBundle } from './lib/bundles.ts';
import { startLoadClient } from './lib/client.ts';
import { machineInfo, median, waitForQuiet } from './lib/machine.ts';
import {
  measureServer,
  measureSplit,
  measureSwaps,
  measureTransports,
  type ServerPlan,
  type ServerRun,
  type SplitResult,
  type SwapResult,
  type Target,
  type TransportResult,
} from './lib/measure.ts';
import {
  CLIENT_CPU,
  canPin,
  SERVER_CPU,
  type ServerLaunch,
  spawnPinned,
  startServer,
} from './lib/processes.ts';
import { ensurePythonPeerEnv, type PythonPeerEnv } from './lib/python-venv.ts';
import {
  monitoringCost,
  renderTable,
  type ServerResult,
  summarizeServer,
  summarizeSplit,
  targets,
} from './lib/report.ts';
import { writeResultsFile } from './lib/results-file.ts';

const USAGE = `Usage: npm run bench:serving -- [--model iris] [--stable v1] [--canary v2] [--repetitions 3]
       [--quick] [--skip-python] [--out bench/results/serving.json]`;

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'iris' },
    stable: { type: 'string', default: 'v1' },
    canary: { type: 'string', default: 'v2' },
    repetitions: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'skip-python': { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'serving.json') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.model !== 'iris' && values.model !== 'breast-cancer')
  throw new Error(`--model is iris or breast-cancer\n${USAGE}`);
const dataset: Dataset = values.model;
const repetitions = values.quick ? 1 : Number(values.repetitions);
const interference = values.quick
  ? { maxOtherPct: 25, quietWaitMs: 5_000, attempts: 1 }
  : { maxOtherPct: 25, quietWaitMs: 20_000, attempts: 3 };
const plan: ServerPlan = values.quick
  ? { warmupMs: 1000, c1Requests: 2000, saturation: [16, 64], saturationMs: 1500, interference }
  : { warmupMs: 2000, c1Requests: 10_000, saturation: [16, 64], saturationMs: 4000, interference };
const SPLIT_REQUESTS = 20_000;
const SPLIT_CONCURRENCY = 16;
const SWAPS = values.quick ? 10 : 50;
const SWAP_CONCURRENCY = 8;
const transport = TransportKind.Raw;
/** The modelship row with monitoring off (live statistics and data-quality counting). */
const MONITORING_OFF = 'modelship_monitoring_off';

const log = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();
const machine = machineInfo();
const pinned = canPin(machine.cores);
const clientCpu = pinned ? CLIENT_CPU : undefined;
const serverCpu = pinned ? SERVER_CPU : undefined;
const holdout = join(REPO_ROOT, 'models', dataset, 'holdout.csv');
const modelPath = (version: string) => join(REPO_ROOT, 'models', dataset, version, 'model.onnx');
const featureCount = dataset === 'iris' ? 4 : 30;
const tsx = (script: string, ...args: string[]) => ({
  command: process.execPath,
  args: ['--import', 'tsx', join(REPO_ROOT, 'bench', script), ...args],
});

log(
  `bench: serving, ${dataset} ${values.stable} (canary ${values.canary}), ${repetitions} repetition(s), pinning ${pinned ? 'on' : 'off'}`,
);
const home = await mkdtemp(join(tmpdir(), 'modelship-bench-'));
const client = startLoadClient(clientCpu);
try {
  // Both modelship rows serve bundles with the holdout's reference profile and a range
  // constraint on every column: with monitoring on, every request is binned and checked.
  const stableBundle = await packageExampleBundle(home, dataset, values.stable, { constrained: true });
  const canaryBundle = await packageExampleBundle(home, dataset, values.canary, { constrained: true });

  let python: PythonPeerEnv | { error: string } = { error: 'skipped (--skip-python)' };
  if (!values['skip-python']) {
    python = await ensurePythonPeerEnv(log).catch((error: Error) => ({ error: error.message.slice(0, 500) }));
    if ('error' in python) log(`bench: the Python peer is not available: ${python.error}`);
  }

  // Raw session.run, in a process on the servers' core.
  const rawRuns: Array<{ p50_us: number; p99_us: number; mean_us: number; calls: number }> = [];
  for (let i = 0; i < repetitions; i += 1) {
    const { command, args } = tsx(
      'raw-session.ts',
      modelPath(values.stable),
      holdout,
      values.quick ? '5000' : '20000',
    );
    const child = spawnPinned(serverCpu, command, args, ['ignore', 'pipe', 'inherit']);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    await new Promise((resolve) => child.once('exit', resolve));
    rawRuns.push(JSON.parse(out));
  }
  const raw = {
    p50_us: median(rawRuns.map((r) => r.p50_us)),
    p99_us: median(rawRuns.map((r) => r.p99_us)),
    runs: rawRuns,
  };
  log(`bench: raw session.run p50 ${raw.p50_us} µs`);

  const modelshipConfig = (port: number, monitoring: boolean) =>
    JSON.stringify({
      model: dataset,
      stable: { version: values.stable, bundlePath: stableBundle },
      canary: { version: values.canary, bundlePath: canaryBundle, weight: 50 },
      port,
      monitoring,
    });
  const launches: Record<string, () => Promise<ServerLaunch>> = {
    floor: async () => ({
      name: 'floor',
      ...tsx('floor-server.ts', modelPath(values.stable)),
      cpu: serverCpu,
      model: dataset,
      featureCount,
    }),
    modelship: async () => ({
      name: 'modelship',
      ...tsx('modelship-server.ts', modelshipConfig(0, true)),
      cpu: serverCpu,
      model: dataset,
      featureCount,
    }),
    // The same server and bundles with monitoring off, beside it in every repetition: the
    // difference is what live statistics and data-quality checks cost on the request path.
    [MONITORING_OFF]: async () => ({
      name: MONITORING_OFF,
      ...tsx('modelship-server.ts', modelshipConfig(0, false)),
      cpu: serverCpu,
      model: dataset,
      featureCount,
    }),
  };
  if (!('error' in python)) {
    const interpreter = python.python;
    launches.python = async () => {
      const port = await freePort();
      return {
        name: 'python',
        command: interpreter,
        args: [join(REPO_ROOT, 'bench', 'python-peer', 'server.py'), modelPath(values.stable), String(port)],
        url: `http://127.0.0.1:${port}`,
        cpu: serverCpu,
        model: dataset,
        featureCount,
      };
    };
  }

  // Repetitions are the outer loop so that a disturbance on the machine (another process, a
  // thermal change) lands on one repetition of every server instead of on all runs of one.
  const runs: Record<string, ServerRun[]> = Object.fromEntries(
    Object.keys(launches).map((name) => [name, []]),
  );
  const splitRuns: Record<string, SplitResult[]> = {};
  const swapRuns: SwapResult[] = [];
  let watched: unknown = null;
  const transportRuns: Record<string, TransportResult[]> = {};
  for (let rep = 1; rep <= repetitions; rep += 1) {
    for (const [name, launch] of Object.entries(launches)) {
      const quietWaitMs = await waitForQuiet(interference.quietWaitMs);
      const server = await startServer(await launch());
      try {
        const target: Target = { url: server.url, model: dataset, holdout, transport };
        const run = await measureServer(client, target, plan, server.cpuSeconds);
        runs[name]?.push({ quiet_wait_ms: quietWaitMs, ...run });
        if (name === 'modelship') watched = server.info.monitoring ?? null;
        const best = Math.max(...run.saturation.map((l) => l.rps));
        log(
          `bench: [${rep}/${repetitions}] ${name}: c=1 p50 ${run.c1.p50_us} µs, p99 ${run.c1.p99_us} µs; saturation ${best} req/s`,
        );
        if (name === 'floor') {
          const measured = await measureTransports(
            client,
            target,
            ['http', 'fetch', 'raw'],
            16,
            plan.saturationMs / 2,
          );
          for (const one of measured)
            transportRuns[one.transport] = [...(transportRuns[one.transport] ?? []), one];
        }
        if (name === 'modelship') {
          const admin = createAdminClient({ baseUrl: server.url, token: String(server.info.token) });
          for (const [key, weight, sticky] of [
            ['50', 50, false],
            ['10', 10, false],
            ['50-sticky', 50, true],
          ] as const) {
            const split = await measureSplit(client, admin, target, {
              canary: values.canary,
              weight,
              requests: SPLIT_REQUESTS,
              concurrency: SPLIT_CONCURRENCY,
              sticky,
            });
            splitRuns[key] = [...(splitRuns[key] ?? []), split];
            log(
              `bench: [${rep}/${repetitions}] split at ${key}: ${split.canary_share_pct}% (${split.error_pp} pp)`,
            );
          }
          const swaps = await measureSwaps(client, admin, target, {
            canary: values.canary,
            bundlePath: canaryBundle,
            swaps: SWAPS,
            concurrency: SWAP_CONCURRENCY,
          });
          swapRuns.push(swaps);
          log(`bench: [${rep}/${repetitions}] swaps: ${swaps.failed} failed of ${swaps.requests}`);
        }
      } finally {
        await server.stop();
      }
    }
  }

  const servers: Record<string, ServerResult | { error: string }> = {};
  for (const [name, serverRuns] of Object.entries(runs)) servers[name] = summarizeServer(serverRuns);
  if ('error' in python) servers.python = { error: python.error };
  const result = (name: string) => {
    const server = servers[name];
    return server && 'c1' in server ? server : undefined;
  };
  const floor = result('floor');
  const modelship = result('modelship');
  const peer = result('python');
  const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
  const overheadP50Us = floor && modelship ? round(modelship.c1.p50_us - floor.c1.p50_us, 1) : null;
  const ratioVsFloor = floor && modelship ? round(modelship.best.rps / floor.best.rps, 3) : null;
  const ratioVsPython = peer && modelship ? round(modelship.best.rps / peer.best.rps, 2) : null;
  // The same ratios from server CPU time per request at saturation: what each server could do
  // with a core to itself. Other work on the machine moves requests per second, hardly this.
  const cpuRatio = (other: ServerResult | undefined) => {
    const mine = modelship?.best.server_cpu_us_per_request;
    const theirs = other?.best.server_cpu_us_per_request;
    return mine && theirs ? round(theirs / mine, 3) : null;
  };
  const splits = Object.values(splitRuns).map(summarizeSplit);
  const monitoring = monitoringCost({
    on: modelship,
    off: result(MONITORING_OFF),
    onRuns: runs.modelship ?? [],
    offRuns: runs[MONITORING_OFF] ?? [],
    watched,
  });
  const verdicts = targets({
    overheadP50Us,
    ratioVsFloor,
    ratioVsPython,
    splits,
    swaps: swapRuns,
    monitoringP50Us: monitoring?.overhead_p50_us ?? null,
    monitoringThroughputRatio: monitoring?.throughput_ratio ?? null,
  });
  const elapsedS = Math.round((performance.now() - started) / 1000);

  const clientTransports = Object.fromEntries(
    Object.entries(transportRuns).map(([kind, all]) => [
      kind,
      {
        concurrency: all[0]?.concurrency,
        rps: median(all.map((r) => r.rps)),
        client_cpu_us_per_request: median(all.map((r) => r.client_cpu_us_per_request)),
        client_cpu_pct: median(all.map((r) => r.client_cpu_pct)),
      },
    ]),
  );
  const report = {
    schema_version: 1,
    benchmark: 'serving',
    date: new Date().toISOString(),
    machine: {
      ...machine,
      onnxruntime_python_version: 'error' in python ? null : python.onnxruntimeVersion,
      python_version: 'error' in python ? null : python.pythonVersion,
    },
    method: {
      statistic: `median of ${repetitions} repetition(s) of every measurement; repetitions interleave the servers`,
      repetitions,
      quick: values.quick,
      model: {
        dataset,
        stable: values.stable,
        canary: values.canary,
        payload: 'one holdout row per request, KServe V2 FP32 [1, n], rows cycled',
      },
      client: `modelship's load generator (serving/loadgen), ${transport} transport, keep-alive, in its own process${pinned ? ` pinned to core ${CLIENT_CPU}` : ''}; closed loop`,
      interference: `before each server, up to ${interference.quietWaitMs / 1000} s of waiting for a second in which other processes use < 15 % of a core; a level during which they used more than ${interference.maxOtherPct} % of a core (other_cpu_pct) is measured again, ${interference.attempts} attempts at most`,
      servers: `one at a time, each in its own process${pinned ? ` pinned to core ${SERVER_CPU}` : ''}, warmed up ${plan.warmupMs} ms at c=8 before measuring`,
      c1: `${plan.c1Requests} requests at concurrency 1`,
      saturation: `${plan.saturationMs} ms at each concurrency of ${plan.saturation.join(', ')}; the best is reported as saturation`,
      modelship_server: `metrics on, ${values.stable} stable and ${values.canary} canary at 50 %; bundles with the holdout's reference profile and a range constraint on every input column (onViolation: count); "modelship" with monitoring on, "${MONITORING_OFF}" the same with monitoring off`,
      split: `${SPLIT_REQUESTS} requests at c=${SPLIT_CONCURRENCY} per weight; "sticky" sends one distinct route key per request`,
      client_transports: `the load generator's transports against the floor at c=16, ${plan.saturationMs / 2} ms each: its cost per request`,
      swaps: `${SWAPS} cycles of promote ${values.canary}, rollback (drains and unloads ${values.canary}), load ${values.canary} again, under load at c=${SWAP_CONCURRENCY} (node:http client)`,
      duration_s: elapsedS,
    },
    raw_session_run: raw,
    client_transports: clientTransports,
    servers,
    overhead_p50_us: overheadP50Us,
    throughput_ratio_vs_floor: ratioVsFloor,
    throughput_ratio_vs_python: ratioVsPython,
    cpu_per_request_ratio_vs_floor: cpuRatio(floor),
    cpu_per_request_ratio_vs_python: cpuRatio(peer),
    monitoring,
    split: Object.fromEntries(Object.keys(splitRuns).map((key, i) => [key, splits[i]])),
    swaps: swapRuns,
    targets: verdicts,
  };
  await writeResultsFile(values.out, report, log);
  console.log(
    renderTable({
      title: `serving benchmark: ${dataset} ${values.stable}, median of ${repetitions}, ${machine.cpu_model} × ${machine.cores}, node ${machine.node_version}, ${elapsedS}s`,
      raw,
      servers,
      splits,
      swaps: swapRuns,
      monitoring,
      transports: clientTransports,
      targets: verdicts,
    }),
  );
  log(`bench: wrote ${values.out}`);
} finally {
  await client.close();
  await rm(home, { recursive: true, force: true });
}
