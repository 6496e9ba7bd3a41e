/**
 * The embedded desired-state store: plain files under one directory (by default
 * `<MODELSHIP_HOME>/desired-state`), for one machine where the worker and the serve replicas
 * share a disk. Nothing to run, and a person can read every file.
 *
 * ```
 * <root>/<environment>/state.json          the desired state (format 1), replaced whole
 * <root>/<environment>/history.jsonl       every generation as written, one JSON line each
 * <root>/<environment>/state.lock/         held during an update (file-lock.ts)
 * <root>/<environment>/replicas/<id>.json  each replica's latest report
 * ```
 *
 * An update takes the environment's lock, reads `state.json`, applies the change, writes the new
 * file by temp file, fsync and rename (`atomic-file.ts`), appends the history line, and releases
 * the lock; readers take no lock, as a rename is atomic. Replicas write only their own report
 * file, so they never wait for writers or for each other. Environment names are DNS labels and
 * replica ids have no "/" and no leading ".", both checked before any path is built, so no name
 * reaches outside its folder.
 *
 * Watching uses fs.watch on the environment's folder (a rename into it is one event) and a poll
 * every `pollIntervalMs` in case events are lost (network file systems, an exhausted inotify limit).
 */

import { watch as watchDirectory } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { appendLineDurably, removeStaleTemps, writeFileAtomic } from './atomic-file.ts';
import { DesiredStateCorruptError, DesiredStateError, parseOrThrow } from './errors.ts';
import {
  parseHistoryLine,
  parseReportFile,
  parseStateFile,
  reportFileText,
  stateFileText,
} from './file-format.ts';
import { acquireLock } from './file-lock.ts';
import {
  checkEnvironment,
  checkForget,
  type DesiredStateStore,
  type ForgetReplicas,
  type ModelsChange,
  nextDesiredState,
  type StopWatching,
  type UpdateOptions,
  type WatchOptions,
} from './store.ts';
import { Tasks } from './tasks.ts';
import {
  type DesiredState,
  emptyDesiredState,
  type ReplicaReport,
  ReplicaReportInput,
  type ReplicaReports,
} from './types.ts';
import { StateWatch } from './watcher.ts';

/** Options of {@link openFileDesiredStateStore}. */
export interface FileDesiredStateOptions {
  /** How long an update waits for another process's update; default 10 000 ms. */
  lockTimeoutMs?: number;
  /** A lock older than this was left by a dead process and is broken; default 10 000 ms. */
  staleLockMs?: number;
  /** The safety-net poll of every watch; default 5 000 ms. */
  pollIntervalMs?: number;
}

const STATE_FILE = 'state.json';

/** Opens (creating) the store rooted at `directory`. */
export async function openFileDesiredStateStore(
  directory: string,
  options: FileDesiredStateOptions = {},
): Promise<DesiredStateStore> {
  await mkdir(directory, { recursive: true });
  return new FileDesiredStateStore(directory, {
    lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
    staleLockMs: options.staleLockMs ?? 10_000,
    pollIntervalMs: options.pollIntervalMs ?? 5_000,
  });
}

class FileDesiredStateStore implements DesiredStateStore {
  private readonly tasks = new Tasks();
  private readonly stops = new Set<StopWatching>();
  private closed = false;

  constructor(
    readonly location: string,
    private readonly options: Required<FileDesiredStateOptions>,
  ) {}

  async read(environment: string): Promise<DesiredState> {
    const env = checkEnvironment(environment);
    return this.run(() => this.readState(env));
  }

  async update(
    environment: string,
    change: ModelsChange,
    options: UpdateOptions = {},
  ): Promise<DesiredState> {
    const env = checkEnvironment(environment);
    return this.tasks.queue(env, () => this.run(() => this.updateNow(env, change, options)));
  }

  async history(environment: string, options: { limit?: number } = {}): Promise<DesiredState[]> {
    const env = checkEnvironment(environment);
    const path = join(this.folder(env), 'history.jsonl');
    return this.run(async () => {
      const text = await readFile(path, 'utf8').catch(ifMissing(''));
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      const limit = Math.max(0, Math.floor(options.limit ?? 1000));
      return lines
        .reverse()
        .slice(0, limit)
        .map((line, index) => parseHistoryLine(env, line, `${path} (line ${lines.length - index})`));
    });
  }

  async report(input: ReplicaReportInput): Promise<ReplicaReport> {
    const parsed = parseOrThrow(ReplicaReportInput, input, 'replica report refused');
    const report: ReplicaReport = { ...parsed, reportedAt: new Date().toISOString() };
    const folder = join(this.folder(report.environment), 'replicas');
    return this.run(async () => {
      await mkdir(folder, { recursive: true });
      // Not fsynced: a heartbeat lost to a power cut is written again by the next one.
      await writeFileAtomic(join(folder, `${report.replica}.json`), reportFileText(report), {
        durable: false,
      });
      return report;
    });
  }

  async replicas(environment: string, options: { seenWithinMs?: number } = {}): Promise<ReplicaReports> {
    const env = checkEnvironment(environment);
    return this.run(async () => {
      const readAt = new Date();
      const all = await this.readReports(env);
      const since = options.seenWithinMs === undefined ? undefined : readAt.getTime() - options.seenWithinMs;
      const reports = all.filter(
        (report) => since === undefined || new Date(report.reportedAt).getTime() >= since,
      );
      return { environment: env, readAt: readAt.toISOString(), reports };
    });
  }

  async forgetReplicas(environment: string, which: ForgetReplicas): Promise<string[]> {
    const env = checkEnvironment(environment);
    const folder = join(this.folder(env), 'replicas');
    return this.run(async () => {
      let ids: string[];
      const checked = checkForget(which);
      if ('replica' in checked) {
        ids = [checked.replica];
      } else {
        const { notSeenForMs } = checked;
        const cutoff = Date.now() - notSeenForMs;
        ids = (await this.readReports(env))
          .filter((report) => new Date(report.reportedAt).getTime() < cutoff)
          .map((report) => report.replica);
        await removeStaleTemps(folder, undefined, notSeenForMs);
      }
      const removed: string[] = [];
      for (const id of ids) {
        const path = join(folder, `${id}.json`);
        if (await exists(path)) {
          await rm(path, { force: true });
          removed.push(id);
        }
      }
      return removed;
    });
  }

  async watch(
    environment: string,
    onChange: (state: DesiredState) => void,
    options: WatchOptions = {},
  ): Promise<StopWatching> {
    const env = checkEnvironment(environment);
    if (this.closed) throw this.closedError();
    const folder = this.folder(env);
    const watch = new StateWatch(() => this.read(env), onChange, options, this.options.pollIntervalMs);
    let watcher: ReturnType<typeof watchDirectory> | undefined;
    try {
      await mkdir(folder, { recursive: true });
      watcher = watchDirectory(folder, { persistent: false }, (_event, name) => {
        // A null name means the platform could not say which file: read to be sure.
        if (name === null || name === STATE_FILE) watch.trigger();
      });
      watcher.on('error', (error) => {
        watch.fail(new DesiredStateError(`watching ${folder} failed (polling instead): ${error.message}`));
        watcher?.close();
      });
    } catch (error) {
      watch.fail(
        new DesiredStateError(`cannot watch ${folder} (polling instead): ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    await watch.start();
    const stop: StopWatching = async () => {
      this.stops.delete(stop);
      watcher?.close();
      await watch.stop();
    };
    this.stops.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.stops].map((stop) => stop()));
    await this.tasks.drain();
  }

  private async updateNow(env: string, change: ModelsChange, options: UpdateOptions): Promise<DesiredState> {
    const folder = this.folder(env);
    await mkdir(folder, { recursive: true });
    const lock = await acquireLock(join(folder, 'state.lock'), {
      timeoutMs: this.options.lockTimeoutMs,
      staleMs: this.options.staleLockMs,
    });
    try {
      await removeStaleTemps(folder, STATE_FILE, this.options.staleLockMs);
      const next = nextDesiredState(await this.readState(env), change, options, new Date());
      if (!next.changed) return next.state;
      const text = stateFileText(next.state);
      await writeFileAtomic(join(folder, STATE_FILE), text, {
        durable: true,
        beforeRename: () => lock.check(),
      });
      await appendLineDurably(join(folder, 'history.jsonl'), JSON.stringify(next.state)).catch(
        (error: Error) => {
          // The state is committed; the history is for people, so a failed line is a warning.
          process.emitWarning(
            `desired state of "${env}" is at generation ${next.state.generation}, but its history line failed: ${error.message}`,
          );
        },
      );
      return next.state;
    } finally {
      await lock.release();
    }
  }

  private async readState(env: string): Promise<DesiredState> {
    const folder = this.folder(env);
    const path = join(folder, STATE_FILE);
    const text = await readFile(path, 'utf8').catch(ifMissing(undefined));
    if (text !== undefined) return parseStateFile(env, text, path);
    // No state but a history: the file was removed by hand. Starting again at generation 0 would
    // tell every replica to unload everything and make generations repeat, so refuse instead.
    const history = join(folder, 'history.jsonl');
    if (((await stat(history).catch(ifMissing(undefined)))?.size ?? 0) > 0) {
      throw new DesiredStateCorruptError(
        env,
        path,
        `the file is missing but ${history} holds earlier generations; restore it (the newest history line is its content)`,
      );
    }
    return emptyDesiredState(env);
  }

  private async readReports(env: string): Promise<ReplicaReport[]> {
    const folder = join(this.folder(env), 'replicas');
    const names = (await readdir(folder).catch(ifMissing([] as string[]))).filter(
      (name) => name.endsWith('.json') && !name.startsWith('.'),
    );
    const reports: ReplicaReport[] = [];
    for (const name of names.sort()) {
      const path = join(folder, name);
      // Forgotten between the listing and here: no longer a report.
      const text = await readFile(path, 'utf8').catch(ifMissing(undefined));
      if (text === undefined) continue;
      reports.push(parseReportFile(env, name, text, path));
    }
    return reports;
  }

  private folder(env: string): string {
    return join(this.location, env);
  }

  /** Runs `task` where `close` can wait for it. */
  private run<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const running = task();
    return this.tasks.track(running);
  }

  private closedError(): DesiredStateError {
    return new DesiredStateError(`desired-state store ${this.location} is closed`);
  }
}

/** A `.catch` that turns a missing file into `fallback` and rethrows anything else. */
function ifMissing<T>(fallback: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
