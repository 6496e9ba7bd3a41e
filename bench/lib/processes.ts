/**
 * Child processes of the benchmark: servers and the load generator, each pinned to a core with
 * `taskset` when the machine has it (the load generator on core 0, servers on core 1), started,
 * waited for, and stopped by their own pid.
 */
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { inferRequestBody } from '../../serving/loadgen/payload.ts';

/** The core each side runs on; the machine this was designed for has two. */
export const CLIENT_CPU = 0;
export const SERVER_CPU = 1;

let pinning: boolean | undefined;

/** Whether `taskset` works here (and there are at least two cores to split). */
export function canPin(cores: number): boolean {
  if (pinning === undefined) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      pinning = cores >= 2;
    } catch {
      pinning = false;
    }
  }
  return pinning;
}

/** Spawns `command args…`, pinned to `cpu` when pinning works. */
export function spawnPinned(
  cpu: number | undefined,
  command: string,
  args: string[],
  stdio: StdioOptions,
): ChildProcess {
  if (cpu === undefined) return spawn(command, args, { stdio });
  return spawn('taskset', ['-c', String(cpu), command, ...args], { stdio });
}

/** Sends SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from `/proc/<pid>/stat`;
 * NaN where there is no procfs. Unlike requests per second, CPU time per request hardly moves
 * when other work shares the machine, so it backs up throughput numbers taken on a busy host.
 */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux that Node supports. */
const CLOCK_TICKS = 100;

interface RunningServer {
  name: string;
  url: string;
  /** CPU seconds the server process has used so far (see processCpuSeconds). */
  cpuSeconds(): number;
  /** Whatever else the server printed in its ready line (the admin token). */
  info: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface ServerLaunch {
  name: string;
  command: string;
  args: string[];
  cpu: number | undefined;
  /** Known up front (a server that cannot print its URL); otherwise read from a `{"url": …}` line. */
  url?: string;
  model: string;
  featureCount: number;
}

/**
 * Starts a server and resolves once an inference request gets a 200, so that nothing is
 * measured against a server still loading. Rejects with the server's stderr if it dies first.
 */
export async function startServer(launch: ServerLaunch, timeoutMs = 120_000): Promise<RunningServer> {
  const child = spawnPinned(launch.cpu, launch.command, launch.args, ['ignore', 'pipe', 'pipe']);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const died = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`${launch.name} exited (${signal ?? code}) before it was ready:\n${stderr}`)),
    );
  });
  died.catch(() => undefined);
  const announced = new Promise<Record<string, unknown>>((resolve) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        if (line.startsWith('{')) resolve(JSON.parse(line) as Record<string, unknown>);
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
  });
  const deadline = Date.now() + timeoutMs;
  const info = launch.url === undefined ? await Promise.race([announced, died]) : { url: launch.url };
  const url = String(info.url);
  const body = inferRequestBody('input', new Array(launch.featureCount).fill(1));
  for (;;) {
    const status = await fetch(`${url}/v2/models/${launch.model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(
        `${launch.name} did not answer 200 within ${timeoutMs} ms (last status ${status}):\n${stderr}`,
      );
    }
    await Promise.race([sleep(200), died]);
  }
  return {
    name: launch.name,
    url,
    info,
    cpuSeconds: () => processCpuSeconds(child.pid),
    stop: () => stopChild(child),
  };
}
