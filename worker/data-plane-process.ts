/**
 * Runs the serving data plane as a child process (`modelship serve`) for `modelship dev`. A
 * separate process keeps model serving off the worker's event loop, as it is in production, and
 * the control plane reaches it only over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadEvidenceKey } from '../activities/evidence-key.ts';
import { PROJECT_ROOT } from './temporal-cli.ts';

interface DataPlaneProcess {
  url: string;
  adminToken: string;
  /** The file holding the token labels are fed back with (`POST /v2/models/{m}/feedback`). */
  feedbackTokenFile: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

async function waitUntilLive(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`modelship serve exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(`${url}/v2/health/live`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`the data plane at ${url} did not answer within ${timeoutMs} ms`);
}

/**
 * The address `modelship serve` says it listens on (`serve: listening on <url>`), read from its
 * output; rejects if it exits or stays silent past the deadline.
 */
function announcedUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolveUrl, rejectUrl) => {
    let seen = '';
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const url = /serve: listening on (http:\/\/\S+)/.exec(seen)?.[1];
      if (url) done(() => resolveUrl(url));
    };
    const onExit = (code: number | null) =>
      done(() => rejectUrl(new Error(`modelship serve exited with code ${code} before it was ready`)));
    const timer = setTimeout(
      () => done(() => rejectUrl(new Error(`modelship serve named no address within ${timeoutMs} ms`))),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Starts `modelship serve` on `port` with a fresh random admin token; resolves once it answers.
 * Port 0 lets serve take a free port itself and say which: a port chosen beforehand by the caller
 * can be taken by another process before serve binds it.
 * With `follow`, it is a replica of that environment: it serves the environment's desired state
 * under `home` (and again after a restart), trusting evidence signed by `evidenceKeyFile`.
 * Without, its admin API loads bundles only from `<home>/bundles`, where the worker packages them.
 */
export async function startDataPlaneProcess(options: {
  port: number;
  logFile: string;
  /** The MODELSHIP_HOME the worker packages into. */
  home: string;
  /** Follow this environment's desired state; evidence must be signed by the worker's key (`evidenceKeyPath`, else the home's). */
  follow?: { environment: string; evidenceKeyPath?: string };
}): Promise<DataPlaneProcess> {
  const adminToken = randomBytes(24).toString('hex');
  const feedbackTokenFile = await feedbackToken(options.home);
  let evidenceKeyFile = '';
  if (options.follow) {
    // The worker beside it signs with this key; made now if new, so the replica trusts it from the start.
    const key = await loadEvidenceKey({
      home: options.home,
      ...(options.follow.evidenceKeyPath ? { keyPath: options.follow.evidenceKeyPath } : {}),
    });
    evidenceKeyFile = join(options.home, 'keys', 'serve-trusts.pub');
    await writeFile(evidenceKeyFile, key.publicKeyPem);
  }
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      join(PROJECT_ROOT, 'bin', 'modelship.mjs'),
      'serve',
      '--port',
      String(options.port),
      '--feedback-token-file',
      feedbackTokenFile,
      ...(options.follow
        ? [
            '--environment',
            options.follow.environment,
            '--replica-id',
            'dev',
            '--evidence-key',
            evidenceKeyFile,
          ]
        : ['--bundle-root', join(options.home, 'bundles')]),
    ],
    {
      env: { ...process.env, MODELSHIP_HOME: options.home, MODELSHIP_ADMIN_TOKEN: adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  let url = `http://127.0.0.1:${options.port}`;
  try {
    if (options.port === 0) url = await announcedUrl(child, 30_000);
    await waitUntilLive(url, child, 30_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message} (log: ${options.logFile})`);
  }
  return { url, adminToken, feedbackTokenFile, process: child, stop };
}

/**
 * `<home>/keys/feedback-token`, made once (0600): a ground-truth pipeline on this machine reads it
 * to send labels; kept across restarts so that a script keeps working.
 */
async function feedbackToken(home: string): Promise<string> {
  const file = join(home, 'keys', 'feedback-token');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  return file;
}
