/** The serving benchmark's results: medians over repetitions, targets, the printed table. */
import { median } from './machine.ts';
import type { LevelResult, ServerRun, SplitResult, SwapResult } from './measure.ts';

/** One server's numbers, each the median over repetitions. */
export interface ServerResult {
  c1: { p50_us: number; p99_us: number; rps: number };
  saturation: Array<{
    concurrency: number;
    rps: number;
    p50_us: number;
    p99_us: number;
    client_cpu_pct: number;
  }>;
  /** The saturation level with the most requests per second. */
  best: {
    concurrency: number;
    rps: number;
    p99_us: number;
    server_cpu_us_per_request: number | null;
    other_cpu_pct: number | null;
  };
  errors: number;
  accuracy: Record<string, number | null>;
  runs: ServerRun[];
}

const medianOf = <T>(items: readonly T[], pick: (item: T) => number) => median(items.map(pick));

/** Medians per metric over the repetitions of one server. */
export function summarizeServer(runs: ServerRun[]): ServerResult {
  const levels = runs[0]?.saturation.map((l) => l.concurrency) ?? [];
  const saturation = levels.map((concurrency) => {
    const at = runs.flatMap((run) => run.saturation.filter((l) => l.concurrency === concurrency));
    return {
      concurrency,
      rps: Math.round(medianOf(at, (l) => l.rps)),
      p50_us: medianOf(at, (l) => l.p50_us),
      p99_us: medianOf(at, (l) => l.p99_us),
      client_cpu_pct: Math.round(medianOf(at, (l) => l.client_cpu_pct)),
      server_cpu_us_per_request: at.some((l) => l.server_cpu_us_per_request === null)
        ? null
        : medianOf(at, (l) => l.server_cpu_us_per_request ?? 0),
      other_cpu_pct: at.some((l) => l.other_cpu_pct === null)
        ? null
        : medianOf(at, (l) => l.other_cpu_pct ?? 0),
    };
  });
  const best = saturation.reduce(
    (a, b) => (b.rps > a.rps ? b : a),
    saturation[0] ?? {
      concurrency: 0,
      rps: 0,
      p99_us: 0,
      server_cpu_us_per_request: null,
      other_cpu_pct: null,
    },
  );
  const c1s: LevelResult[] = runs.map((run) => run.c1);
  return {
    c1: {
      p50_us: medianOf(c1s, (l) => l.p50_us),
      p99_us: medianOf(c1s, (l) => l.p99_us),
      rps: Math.round(medianOf(c1s, (l) => l.rps)),
    },
    saturation,
    best: {
      concurrency: best.concurrency,
      rps: best.rps,
      p99_us: best.p99_us,
      server_cpu_us_per_request: best.server_cpu_us_per_request,
      other_cpu_pct: best.other_cpu_pct,
    },
    errors: runs.reduce(
      (sum, run) => sum + run.c1.errors + run.saturation.reduce((s, l) => s + l.errors, 0),
      0,
    ),
    accuracy: runs[0]?.accuracy ?? {},
    runs,
  };
}

/** Median share and error over repetitions of the same split. */
export function summarizeSplit(runs: SplitResult[]) {
  const first = runs[0];
  return {
    weight: first?.weight ?? 0,
    route_keys: first?.routeKeys ?? 0,
    requests: first?.requests ?? 0,
    canary_share_pct: medianOf(runs, (r) => r.canary_share_pct),
    error_pp: medianOf(runs, (r) => r.error_pp),
    worst_error_pp: Math.max(...runs.map((r) => Math.abs(r.error_pp))),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    runs: runs.map((r) => r.error_pp),
  };
}

type SplitSummary = ReturnType<typeof summarizeSplit>;

export interface Target {
  target: string;
  value: number | null;
  met: boolean | null;
}

const check = (value: number | null, ok: (v: number) => boolean, target: string): Target => ({
  target,
  value,
  met: value === null || Number.isNaN(value) ? null : ok(value),
});

/** What monitoring costs: modelship with monitoring on against the same server and bundles with it off. */
export interface MonitoringCost {
  /** What the stable version's statistics watch (profiled features, constrained columns). */
  watched: unknown;
  p50_on_us: number;
  p50_off_us: number;
  /** c=1 p50 with monitoring on minus off (medians over repetitions). */
  overhead_p50_us: number;
  /** The same difference within each repetition, where the two ran back to back. */
  overhead_p50_us_per_repetition: number[];
  rps_on: number;
  rps_off: number;
  /** Requests per second at saturation, on over off. */
  throughput_ratio: number;
  /** Server CPU time per request at saturation, on minus off: the cost with noise from other work removed. */
  server_cpu_us_per_request_on: number | null;
  server_cpu_us_per_request_off: number | null;
  server_cpu_overhead_us_per_request: number | null;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The monitoring cost, or null when either row was not measured. */
export function monitoringCost(input: {
  on: ServerResult | undefined;
  off: ServerResult | undefined;
  onRuns: readonly ServerRun[];
  offRuns: readonly ServerRun[];
  watched: unknown;
}): MonitoringCost | null {
  const { on, off } = input;
  if (!on || !off) return null;
  const cpuOn = on.best.server_cpu_us_per_request;
  const cpuOff = off.best.server_cpu_us_per_request;
  return {
    watched: input.watched,
    p50_on_us: on.c1.p50_us,
    p50_off_us: off.c1.p50_us,
    overhead_p50_us: round(on.c1.p50_us - off.c1.p50_us, 1),
    overhead_p50_us_per_repetition: input.onRuns.flatMap((run, i) => {
      const other = input.offRuns[i];
      return other ? [round(run.c1.p50_us - other.c1.p50_us, 1)] : [];
    }),
    rps_on: on.best.rps,
    rps_off: off.best.rps,
    throughput_ratio: round(on.best.rps / off.best.rps, 3),
    server_cpu_us_per_request_on: cpuOn,
    server_cpu_us_per_request_off: cpuOff,
    server_cpu_overhead_us_per_request: cpuOn !== null && cpuOff !== null ? round(cpuOn - cpuOff, 1) : null,
  };
}

export function targets(input: {
  overheadP50Us: number | null;
  ratioVsFloor: number | null;
  ratioVsPython: number | null;
  splits: SplitSummary[];
  swaps: SwapResult[];
  monitoringP50Us: number | null;
  monitoringThroughputRatio: number | null;
}): Record<string, Target> {
  const perRequest = input.splits.filter((s) => s.route_keys === 0);
  const worstSplit = perRequest.length === 0 ? null : Math.max(...perRequest.map((s) => s.worst_error_pp));
  const failed = input.swaps.length === 0 ? null : input.swaps.reduce((sum, s) => sum + s.failed, 0);
  return {
    overhead_p50_us: check(input.overheadP50Us, (v) => v <= 100, '<= 100'),
    throughput_ratio_vs_floor: check(input.ratioVsFloor, (v) => v >= 0.8, '>= 0.8'),
    throughput_ratio_vs_python: check(input.ratioVsPython, (v) => v >= 2, '>= 2'),
    canary_share_error_pp: check(worstSplit, (v) => v <= 0.5, '|share - weight| <= 0.5 pp in every run'),
    failed_requests_across_swaps: check(failed, (v) => v === 0, '== 0 in every run'),
    monitoring_overhead_p50_us: check(input.monitoringP50Us, (v) => v <= 5, '<= 5'),
    monitoring_throughput_ratio: check(input.monitoringThroughputRatio, (v) => v >= 0.95, '>= 0.95'),
  };
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const usText = (value: number) =>
  value >= 1000 ? `${(value / 1000).toFixed(2)} ms` : `${value.toFixed(1)} µs`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('   '),
    )
    .join('\n');
}

/** The human-readable result table. */
export function renderTable(input: {
  title: string;
  raw: { p50_us: number; p99_us: number } | null;
  servers: Record<string, ServerResult | { error: string }>;
  splits: SplitSummary[];
  swaps: SwapResult[];
  monitoring: MonitoringCost | null;
  transports: Record<string, { rps: number; client_cpu_us_per_request: number }>;
  targets: Record<string, Target>;
}): string {
  const levels =
    Object.values(input.servers)
      .find((s): s is ServerResult => 'c1' in s)
      ?.saturation.map((l) => l.concurrency) ?? [];
  const rows: string[][] = [
    [
      '',
      'c=1 p50',
      'c=1 p99',
      ...levels.map((c) => `c=${c} req/s`),
      ...levels.map((c) => `c=${c} p99`),
      'server CPU/req',
      'other load',
    ],
  ];
  if (input.raw)
    rows.push([
      'raw session.run',
      usText(input.raw.p50_us),
      usText(input.raw.p99_us),
      ...levels.flatMap(() => ['-', '-']),
      '-',
      '-',
    ]);
  for (const [name, server] of Object.entries(input.servers)) {
    if (!('c1' in server)) {
      rows.push([name, `not measured: ${server.error}`]);
      continue;
    }
    rows.push([
      name,
      usText(server.c1.p50_us),
      usText(server.c1.p99_us),
      ...server.saturation.map((l) => n(l.rps)),
      ...server.saturation.map((l) => usText(l.p99_us)),
      server.best.server_cpu_us_per_request === null ? '-' : usText(server.best.server_cpu_us_per_request),
      server.best.other_cpu_pct === null ? '-' : `${server.best.other_cpu_pct}%`,
    ]);
  }
  const lines = [input.title, '', table(rows), ''];
  for (const split of input.splits) {
    const kind = split.route_keys > 0 ? `sticky, ${n(split.route_keys)} route keys` : 'per request';
    lines.push(
      `canary at ${split.weight}% (${kind}): ${split.canary_share_pct.toFixed(3)}% of ${n(split.requests)} requests, ${split.error_pp >= 0 ? '+' : ''}${split.error_pp.toFixed(3)} pp (runs: ${split.runs.map((r) => r.toFixed(3)).join(', ')})`,
    );
  }
  for (const swap of input.swaps) {
    lines.push(
      `swaps: ${swap.swaps} promote/rollback/reload cycles under load at c=${swap.load_concurrency}: ${n(swap.failed)} failed of ${n(swap.requests)} requests in ${swap.duration_s}s (cycle p50 ${swap.cycle_ms_p50} ms)`,
    );
  }
  const cost = input.monitoring;
  if (cost) {
    const cpu = cost.server_cpu_overhead_us_per_request;
    lines.push(
      `monitoring on vs off: c=1 p50 ${cost.overhead_p50_us >= 0 ? '+' : ''}${cost.overhead_p50_us.toFixed(1)} µs (per repetition: ${cost.overhead_p50_us_per_repetition.join(', ')}), throughput ${cost.throughput_ratio} (${n(cost.rps_on)} vs ${n(cost.rps_off)} req/s)${cpu === null ? '' : `, server CPU ${cpu >= 0 ? '+' : ''}${cpu.toFixed(1)} µs per request`}`,
    );
  }
  const transports = Object.entries(input.transports)
    .map(([kind, t]) => `${kind} ${usText(t.client_cpu_us_per_request)} (${n(t.rps)} req/s)`)
    .join(', ');
  if (transports) lines.push(`load generator CPU per request against the floor: ${transports}`);
  lines.push('');
  for (const [name, t] of Object.entries(input.targets)) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
    lines.push(
      `${name.padEnd(30)} ${t.value === null ? '-' : String(t.value)}  (target ${t.target})  ${verdict}`,
    );
  }
  return lines.join('\n');
}
