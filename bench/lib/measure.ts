/**
 * The measurements of the serving benchmark, each against one running server through the load
 * generator process: latency at concurrency 1, throughput at saturation, the canary split, and
 * failed requests across promote/rollback swaps under load.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminApiError, type AdminClient } from '../../serving/admin-client.ts';
import type { LoadOptions, LoadSummary, TransportKind } from '../../serving/loadgen/index.ts';
import type { LoadClient } from './client.ts';
import { machineBusySeconds, waitForQuiet } from './machine.ts';

/** What every measurement shares: where to send, what, and how. */
export interface Target {
  url: string;
  model: string;
  holdout: string;
  transport: TransportKind;
}

export interface LevelResult {
  concurrency: number;
  rps: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  /** Share of one core the load generator used: near 100 % would mean it, not the server, was the limit. */
  client_cpu_pct: number;
  /** Server CPU time per answered request, in µs (all its threads); null where it cannot be read. */
  server_cpu_us_per_request: number | null;
  /** CPU other processes used meanwhile, in % of one core: interference (null without procfs). */
  other_cpu_pct: number | null;
  /** Runs of this level it took to get one with other processes below the limit (see ServerPlan). */
  attempts: number;
}

export interface ServerRun {
  /** How long the benchmark waited for other processes to quiet down before this run. */
  quiet_wait_ms?: number;
  c1: LevelResult;
  saturation: LevelResult[];
  /** Accuracy per answering version over the c=1 run: every server must give the same answers. */
  accuracy: Record<string, number | null>;
}

export interface ServerPlan {
  warmupMs: number;
  c1Requests: number;
  saturation: number[];
  saturationMs: number;
  /**
   * A level during which other processes used more than `maxOtherPct` of a core is run again,
   * after waiting up to `quietWaitMs` for the machine to quiet down, at most `attempts` times in
   * all; the last attempt is kept whatever it saw (its other_cpu_pct says so).
   */
  interference: { maxOtherPct: number; quietWaitMs: number; attempts: number };
}

const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;

function failIfBroken(name: string, summary: LoadSummary): void {
  if (summary.ok === 0)
    throw new Error(`${name}: no request succeeded (${summary.firstError ?? 'no error recorded'})`);
}

async function level(
  client: LoadClient,
  base: LoadOptions,
  serverCpu: () => number,
  concurrency: number,
  bound: Partial<LoadOptions>,
) {
  const cpuBefore = serverCpu();
  const busyBefore = machineBusySeconds();
  const { summary, cpuS } = await client.run({
    ...base,
    ...bound,
    mode: { kind: 'concurrency', concurrency },
  });
  const serverCpuS = serverCpu() - cpuBefore;
  const otherS = machineBusySeconds() - busyBefore - serverCpuS - cpuS;
  failIfBroken(`${base.url} at c=${concurrency}`, summary);
  const result: LevelResult = {
    concurrency,
    rps: Math.round(summary.achievedRate),
    p50_us: us(summary.latencyMs.p50),
    p99_us: us(summary.latencyMs.p99),
    errors: summary.errors,
    client_cpu_pct: Math.round((cpuS / summary.durationS) * 100),
    server_cpu_us_per_request: Number.isFinite(serverCpuS)
      ? Math.round((serverCpuS / Math.max(summary.requests, 1)) * 1e7) / 10
      : null,
    other_cpu_pct: Number.isFinite(otherS)
      ? Math.max(0, Math.round((otherS / summary.durationS) * 100))
      : null,
    attempts: 1,
  };
  return { result, summary };
}

/** `level`, run again while other processes disturbed it (see ServerPlan.interference). */
async function undisturbedLevel(
  client: LoadClient,
  base: LoadOptions,
  serverCpu: () => number,
  concurrency: number,
  bound: Partial<LoadOptions>,
  plan: ServerPlan,
) {
  const { maxOtherPct, quietWaitMs, attempts } = plan.interference;
  for (let attempt = 1; ; attempt += 1) {
    const measured = await level(client, base, serverCpu, concurrency, bound);
    measured.result.attempts = attempt;
    const other = measured.result.other_cpu_pct;
    if (other === null || other <= maxOtherPct || attempt >= attempts) return measured;
    await waitForQuiet(quietWaitMs);
  }
}

/** Warm-up, then c=1 latency, then each saturation level; one repetition against one server. */
export async function measureServer(
  client: LoadClient,
  target: Target,
  plan: ServerPlan,
  serverCpu: () => number,
): Promise<ServerRun> {
  const base: LoadOptions = { ...target, mode: { kind: 'concurrency', concurrency: 1 }, preflight: false };
  await level(client, base, serverCpu, 8, { durationMs: plan.warmupMs });
  const c1 = await undisturbedLevel(client, base, serverCpu, 1, { requests: plan.c1Requests }, plan);
  const saturation: LevelResult[] = [];
  for (const concurrency of plan.saturation) {
    saturation.push(
      (await undisturbedLevel(client, base, serverCpu, concurrency, { durationMs: plan.saturationMs }, plan))
        .result,
    );
  }
  const accuracy = Object.fromEntries(
    Object.entries(c1.summary.versions).map(([version, v]) => [version, v.accuracy]),
  );
  return { c1: c1.result, saturation, accuracy };
}

export interface SplitResult {
  weight: number;
  /** Route keys used (each sent once) for a sticky split; 0 when the server rolled per request. */
  routeKeys: number;
  requests: number;
  canary_share_pct: number;
  /** canary share − weight, in percentage points. */
  error_pp: number;
  errors: number;
}

/** Sets the canary weight and counts which version answers `requests` requests. */
export async function measureSplit(
  client: LoadClient,
  admin: AdminClient,
  target: Target,
  split: { canary: string; weight: number; requests: number; concurrency: number; sticky: boolean },
): Promise<SplitResult> {
  await admin.setCanary({ model: target.model, version: split.canary, weight: split.weight });
  const { summary } = await client.run({
    ...target,
    mode: { kind: 'concurrency', concurrency: split.concurrency },
    requests: split.requests,
    preflight: false,
    // One key per request: the sticky split is then the hash's spread over distinct callers.
    ...(split.sticky ? { routeKeyPrefix: 'user-', routeKeys: split.requests } : {}),
  });
  const versioned = Object.values(summary.versions).reduce((sum, v) => sum + v.requests, 0);
  const share = ((summary.versions[split.canary]?.requests ?? 0) / Math.max(versioned, 1)) * 100;
  return {
    weight: split.weight,
    routeKeys: split.sticky ? split.requests : 0,
    requests: summary.requests,
    canary_share_pct: Math.round(share * 1000) / 1000,
    error_pp: Math.round((share - split.weight) * 1000) / 1000,
    errors: summary.errors,
  };
}

export interface SwapResult {
  swaps: number;
  load_concurrency: number;
  requests: number;
  failed: number;
  errors_by_status: Record<string, number>;
  duration_s: number;
  /** Median time of one promote + rollback + reload cycle through the admin API. */
  cycle_ms_p50: number;
  shares_pct: Record<string, number>;
}

/** Retries a call that the server refuses while a version is still draining or warming (409). */
async function retryConflict<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof AdminApiError) || error.status !== 409 || attempt >= 100) throw error;
      await sleep(10);
    }
  }
}

/**
 * Load at `concurrency` while the admin API promotes the canary and rolls back `swaps` times.
 * A rollback drains and unloads the version it takes out of routing, so each cycle loads the
 * canary again: every cycle exercises load, promote, rollback, drain and unload under traffic.
 */
export async function measureSwaps(
  client: LoadClient,
  admin: AdminClient,
  target: Target,
  swap: { canary: string; bundlePath: string; swaps: number; concurrency: number },
): Promise<SwapResult> {
  const model = target.model;
  await admin.clearCanary({ model });
  const running = client.run({
    ...target,
    // The standard client, not the benchmark's raw one: what a real caller would see.
    transport: 'http',
    mode: { kind: 'concurrency', concurrency: swap.concurrency },
    durationMs: 600_000,
    preflight: false,
  });
  await sleep(300);
  const cycles: number[] = [];
  try {
    for (let i = 0; i < swap.swaps; i += 1) {
      const start = performance.now();
      await retryConflict(() => admin.promote({ model, version: swap.canary }));
      await retryConflict(() => admin.rollback({ model, reason: `bench swap ${i + 1}` }));
      await retryConflict(() =>
        admin.loadVersion({ model, version: swap.canary, bundlePath: swap.bundlePath }),
      );
      cycles.push(performance.now() - start);
    }
    await sleep(300);
  } finally {
    client.abort();
  }
  const { summary } = await running;
  cycles.sort((a, b) => a - b);
  return {
    swaps: swap.swaps,
    load_concurrency: swap.concurrency,
    requests: summary.requests,
    failed: summary.errors,
    errors_by_status: summary.errorsByStatus,
    duration_s: Math.round(summary.durationS * 100) / 100,
    cycle_ms_p50: Math.round((cycles[Math.floor(cycles.length / 2)] ?? 0) * 10) / 10,
    shares_pct: Object.fromEntries(
      Object.entries(summary.versions).map(([version, v]) => [version, Math.round(v.share * 10000) / 100]),
    ),
  };
}

export interface TransportResult {
  transport: TransportKind;
  concurrency: number;
  rps: number;
  /** The load generator's CPU time per request: what the client itself costs. */
  client_cpu_us_per_request: number;
  client_cpu_pct: number;
}

/**
 * The load generator's own cost with each transport, against the floor server: the measurement
 * behind the choice of `node:http` for `modelship load` and of `raw` for this benchmark.
 */
export async function measureTransports(
  client: LoadClient,
  target: Target,
  transports: readonly TransportKind[],
  concurrency: number,
  durationMs: number,
): Promise<TransportResult[]> {
  const results: TransportResult[] = [];
  for (const transport of transports) {
    const { summary, cpuS } = await client.run({
      ...target,
      transport,
      mode: { kind: 'concurrency', concurrency },
      durationMs,
      preflight: false,
    });
    failIfBroken(`${transport} transport`, summary);
    results.push({
      transport,
      concurrency,
      rps: Math.round(summary.achievedRate),
      client_cpu_us_per_request: Math.round((cpuS / Math.max(summary.requests, 1)) * 1e7) / 10,
      client_cpu_pct: Math.round((cpuS / summary.durationS) * 100),
    });
  }
  return results;
}
