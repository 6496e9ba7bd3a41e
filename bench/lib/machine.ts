/** What the results file records about the machine and software a benchmark ran on. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { env } from 'onnxruntime-node';

interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_gib: number;
  os: string;
  node_version: string;
  onnxruntime_node_version: string;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadavg_1m_at_start: number;
}

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    cpu_model: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node_version: process.version,
    onnxruntime_node_version: env.versions.node ?? env.versions.common,
    loadavg_1m_at_start: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** The median of the values (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/**
 * CPU seconds the whole machine has spent busy (all cores, every process, steal included), from
 * `/proc/stat`; NaN without procfs. Minus what the server and the client used, it is the work of
 * other processes during a measurement: the benchmark's measure of interference.
 */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits until the machine has been nearly idle (busy below `threshold` of one core) for one
 * second, or until `maxMs` passed; returns how long it waited. On a shared development machine a
 * test run next door halves a server's throughput; waiting it out is cheaper than a bad number.
 */
export async function waitForQuiet(maxMs: number, threshold = 0.15): Promise<number> {
  const start = performance.now();
  for (;;) {
    const before = machineBusySeconds();
    await sleep(1000);
    const busy = machineBusySeconds() - before;
    if (!(busy >= threshold) || performance.now() - start >= maxMs)
      return Math.round(performance.now() - start);
  }
}
