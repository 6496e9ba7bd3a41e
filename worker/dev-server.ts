/**
 * Starts `temporal server start-dev` as a child process and waits until its frontend answers.
 *
 * We spawn it ourselves instead of using the SDK's `TestWorkflowEnvironment.createLocal`: the SDK
 * launcher gives the server only a few seconds, which is flaky on a loaded two-core machine, and
 * its default download path reaches outside the package registries.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_FLAGS } from '../workflows/search-attributes.ts';
import { ensureTemporalCli } from './temporal-cli.ts';

interface DevServerOptions {
  /** Frontend port; a free one is picked when omitted. */
  port?: number;
  /**
   * Web UI port; `'free'` picks a free one (again on each retry, like the frontend's); the UI is
   * disabled (headless) when omitted.
   */
  uiPort?: number | 'free';
  /** SQLite file that keeps workflows across restarts; in-memory when omitted. */
  dbFile?: string;
  /** Where the server's own log goes; discarded when omitted. */
  logFile?: string;
  /** How long to wait for the frontend before giving up. */
  startTimeoutMs?: number;
}

interface DevServer {
  address: string;
  /** The frontend's port (chosen free when none was asked for); restart on it to keep the address. */
  port: number;
  uiAddress: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Asks the OS for a free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.once('error', () => resolveAnswer(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolveAnswer(false);
    });
    socket.connect(port, '127.0.0.1');
  });
}

async function waitUntilReady(
  address: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new ExitedEarly(child.exitCode);
    }
    if (await portAnswers(port)) {
      // The port opens before the frontend serves; a real RPC tells us it is usable.
      try {
        const connection = await Connection.connect({ address, connectTimeout: 2_000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return;
        } finally {
          await connection.close();
        }
      } catch (error) {
        lastError = error;
      }
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  throw new Error(
    `Temporal dev server at ${address} not ready after ${timeoutMs} ms: ${String(lastError ?? 'port closed')}`,
  );
}

/** The server process ended before it served: most often a port taken between choosing and binding. */
class ExitedEarly extends Error {
  constructor(readonly exitCode: number) {
    super(`temporal server start-dev exited with code ${exitCode} before it was ready`);
  }
}

/**
 * Starts a dev server and resolves once a client can use it. Without an explicit port, a server
 * that exits at once is started again on another free port (twice at most): a free port can be
 * taken by another process between the moment it is chosen and the moment the server binds it,
 * which happens when several test files start servers at once.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const withUiPort = async (): Promise<StartOptions> =>
    options.uiPort === 'free'
      ? { ...options, uiPort: await freePort() }
      : { ...options, uiPort: options.uiPort };
  if (options.port !== undefined) return startOnce(options.port, await withUiPort());
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(await freePort(), await withUiPort());
    } catch (error) {
      if (!(error instanceof ExitedEarly) || attempt >= 3) throw error;
    }
  }
}

/** The options of one start, the UI port decided. */
type StartOptions = Omit<DevServerOptions, 'uiPort'> & { uiPort: number | undefined };

async function startOnce(port: number, options: StartOptions): Promise<DevServer> {
  const cli = ensureTemporalCli();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  for (const flag of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', flag);
  if (options.uiPort === undefined) {
    args.push('--headless');
  } else {
    args.push('--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1');
  }
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  const address = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilReady(address, port, child, options.startTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address,
    port,
    uiAddress: options.uiPort === undefined ? undefined : `http://127.0.0.1:${options.uiPort}`,
    process: child,
    stop,
  };
}
