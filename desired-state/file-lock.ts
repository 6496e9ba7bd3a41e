/**
 * A lock between processes on one machine: a directory created with mkdir (atomic: exactly one
 * creator succeeds), holding `owner.json` with a random token, the pid and the time. Waiting is
 * done with timers, so the event loop stays free.
 *
 * A holder that dies (SIGKILL, power loss) leaves the directory behind. Once it is older than
 * `staleMs` (no update holds it for more than milliseconds) a waiter breaks it. Breaking is
 * itself guarded by a second directory (`<lock>.break`) and a re-check of the token under it, so
 * two waiters that both saw the stale lock cannot both break it and so remove a fresh lock one
 * of them has just taken. Release and the check before committing both compare the token, so a
 * holder that was frozen past `staleMs` and lost its lock finds out instead of writing.
 * What remains: a holder frozen past `staleMs` in the microseconds between its check and its
 * rename; and a waiter that dies while breaking leaves `<lock>.break`, which is removed once it
 * too is older than `staleMs`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DesiredStateError } from './errors.ts';

/** How to take a lock. */
export interface LockOptions {
  /** Give up after waiting this long for the holder. */
  timeoutMs: number;
  /** A lock directory older than this is left over from a dead holder. */
  staleMs: number;
}

/** A lock this process holds. */
export interface HeldLock {
  /** Throws unless the lock is still this holder's (call right before committing). */
  check(): Promise<void>;
  /** Removes the lock, if it still is this holder's. */
  release(): Promise<void>;
}

const OWNER_FILE = 'owner.json';

/** Takes the lock `directory` (its parent must exist), waiting up to `timeoutMs`. */
export async function acquireLock(directory: string, options: LockOptions): Promise<HeldLock> {
  const token = randomUUID();
  const deadline = Date.now() + options.timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    if (await tryCreate(directory, token)) return held(directory, token);
    if (await breakIfStale(directory, options.staleMs)) continue;
    if (Date.now() >= deadline) {
      throw new DesiredStateError(
        `${directory} stayed locked for ${options.timeoutMs} ms: another process is writing this desired state, ` +
          `or one died holding it (it is broken once ${options.staleMs} ms old; ${await describeOwner(directory)})`,
      );
    }
    await sleep(delay * (0.5 + Math.random()));
  }
}

async function tryCreate(directory: string, token: string): Promise<boolean> {
  try {
    await mkdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  const owner = { token, pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(join(directory, OWNER_FILE), JSON.stringify(owner));
  return true;
}

function held(directory: string, token: string): HeldLock {
  return {
    async check() {
      const owner = await inspect(directory);
      if (owner?.token !== token) {
        throw new DesiredStateError(
          `lost the lock ${directory} before committing (this process was paused past the stale-lock limit ` +
            'and another writer took over); nothing was written, retry',
        );
      }
    },
    async release() {
      if ((await inspect(directory))?.token === token) await rm(directory, { recursive: true, force: true });
    },
  };
}

interface LockState {
  token: string | undefined;
  mtimeMs: number;
  ageMs: number;
}

/** The lock's token and age, or undefined when there is no lock. */
async function inspect(directory: string): Promise<LockState | undefined> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(directory)).mtimeMs;
  } catch {
    return undefined;
  }
  let token: string | undefined;
  try {
    const owner: unknown = JSON.parse(await readFile(join(directory, OWNER_FILE), 'utf8'));
    const value = (owner as { token?: unknown } | null)?.token;
    token = typeof value === 'string' ? value : undefined;
  } catch {
    // Not written yet (the holder is between mkdir and writeFile), or died there.
    token = undefined;
  }
  return { token, mtimeMs, ageMs: Date.now() - mtimeMs };
}

/** Removes a stale lock under the breaker directory; returns whether it removed one. */
async function breakIfStale(directory: string, staleMs: number): Promise<boolean> {
  const seen = await inspect(directory);
  if (seen === undefined || seen.ageMs < staleMs) return false;
  const breaker = `${directory}.break`;
  try {
    await mkdir(breaker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = await ageOf(breaker);
    if (age !== undefined && age >= staleMs) await rm(breaker, { recursive: true, force: true });
    return false;
  }
  try {
    // Still the very lock we judged stale, not one taken since by someone who broke it first.
    const now = await inspect(directory);
    if (now === undefined || now.token !== seen.token || now.mtimeMs !== seen.mtimeMs) return false;
    await rm(directory, { recursive: true, force: true });
    process.emitWarning(
      `removed the stale desired-state lock ${directory} (${Math.round(seen.ageMs)} ms old, older than the ${staleMs} ms no update takes: its holder died)`,
    );
    return true;
  } finally {
    await rm(breaker, { recursive: true, force: true });
  }
}

async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function describeOwner(directory: string): Promise<string> {
  try {
    const owner = JSON.parse(await readFile(join(directory, OWNER_FILE), 'utf8')) as Record<string, unknown>;
    return `held by pid ${String(owner.pid)} on ${String(owner.host)} since ${String(owner.since)}`;
  } catch {
    return 'its holder is unknown';
  }
}
