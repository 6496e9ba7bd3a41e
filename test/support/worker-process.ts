/**
 * A modelship worker in a process of its own, for tests that must kill one the hard way
 * (SIGKILL) or watch one ride out a Temporal server restart. Spawn it with
 * {@link spawnWorkerProcess}; the script part below is what runs in the child.
 *
 * The child prints one JSON line per event on stdout: `{"event":"running"}` once the worker
 * polls, `{"event":"state","state":...}` on each SDK state change, `{"event":"stopped"}` when
 * `run()` returns. It shuts down gracefully on SIGTERM/SIGINT (the SDK's handlers) and when its
 * stdin closes, so a test runner that dies without cleaning up does not leave a worker behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Everything the child needs; passed as one JSON argument. */
export interface WorkerProcessConfig {
  address: string;
  namespace?: string;
  taskQueue: string;
  /** MODELSHIP_HOME: artifacts, bundles and the SQLite audit log (`audit.db`). */
  home: string;
  dataPlane: { url: string; adminToken: string };
  /** A file holding `bundleWorkflows()`'s code, so each child does not bundle again. */
  bundlePath?: string;
  identity?: string;
  /** Temporal SDK log level in the child (default WARN); its log goes to the child's stderr. */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface WorkerProcessEvent {
  event: 'running' | 'state' | 'stopped';
  state?: string;
  at: number;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Events the child reported so far, in order. */
  events: WorkerProcessEvent[];
  /** The child's stdout and stderr so far (SDK warnings, stack traces). */
  output(): string;
  /** Resolves once the worker polls; rejects if the child exits first or `timeoutMs` passes. */
  running(timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code or signal once the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`; safe to call on an exited child. */
  stop(graceMs?: number): Promise<void>;
}

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts a worker child process (`node --import tsx test/support/worker-process.ts <config>`). */
export function spawnWorkerProcess(config: WorkerProcessConfig): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, MODELSHIP_WORKER_CHILD: '1' },
  });
  if (child.pid === undefined) throw new Error('could not spawn the worker process');
  const pid = child.pid;
  const events: WorkerProcessEvent[] = [];
  let log = '';
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    log += chunk;
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      try {
        events.push(JSON.parse(line) as WorkerProcessEvent);
      } catch {
        // Not one of ours.
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log += chunk;
  });
  // Never let a write to a dead child's stdin crash the test process.
  child.stdin?.on('error', () => undefined);
  const exited = once(child, 'exit').then(([code, signal]) => {
    for (const wake of waiters) wake();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const isAlive = () => child.exitCode === null && child.signalCode === null;

  return {
    child,
    pid,
    events,
    output: () => log,
    exited,
    async running(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!events.some((event) => event.event === 'running')) {
        if (!isAlive()) {
          throw new Error(`worker process ${pid} exited before it was running:\n${log}`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`worker process ${pid} not running after ${timeoutMs} ms:\n${log}`);
        await new Promise<void>((resolveWait) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolveWait();
          };
          const timer = setTimeout(wake, Math.min(left, 500));
          waiters.add(wake);
        });
      }
    },
    async kill() {
      if (isAlive()) process.kill(pid, 'SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!isAlive()) {
        await exited;
        return;
      }
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (isAlive()) process.kill(pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The child: open the audit store, create the worker, report, run until told to stop. */
async function runChild(config: WorkerProcessConfig): Promise<void> {
  const { DefaultLogger, NativeConnection, Runtime } = await import('@temporalio/worker');
  const { openAuditStore } = await import('../../audit/open.ts');
  const { createModelshipWorker } = await import('../../worker/worker.ts');
  const say = (event: Omit<WorkerProcessEvent, 'at'>) =>
    process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);

  Runtime.install({ logger: new DefaultLogger(config.logLevel ?? 'WARN') });
  const audit = await openAuditStore(config.home);
  const connection = await NativeConnection.connect({ address: config.address });
  try {
    const worker = await createModelshipWorker({
      connection,
      namespace: config.namespace ?? 'default',
      taskQueue: config.taskQueue,
      home: config.home,
      audit,
      dataPlane: config.dataPlane,
      ...(config.bundlePath ? { workflowBundle: { code: await readFile(config.bundlePath, 'utf8') } } : {}),
      ...(config.identity ? { identity: config.identity } : {}),
    });
    // The parent went away without stopping us: shut down instead of polling forever.
    process.stdin.on('end', () => worker.shutdown());
    process.stdin.on('error', () => worker.shutdown());
    process.stdin.resume();
    let last = '';
    const states = setInterval(() => {
      const state = worker.getState();
      if (state !== last) {
        last = state;
        say({ event: 'state', state });
      }
    }, 100);
    const run = worker.run();
    say({ event: 'running' });
    try {
      await run;
    } finally {
      clearInterval(states);
      process.stdin.pause();
      say({ event: 'stopped' });
    }
  } finally {
    await connection.close();
    await audit.close();
  }
}

if (process.argv[1] === SCRIPT && process.env.MODELSHIP_WORKER_CHILD === '1') {
  const [json] = process.argv.slice(2);
  if (!json) {
    console.error('usage: worker-process.ts <config json>');
    process.exit(2);
  }
  runChild(JSON.parse(json) as WorkerProcessConfig).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}
