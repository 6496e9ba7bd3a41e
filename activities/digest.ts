/**
 * Primitives the artifact-handling activities share: sha256 digests of files and bytes, atomic
 * file writes, path containment, and a heartbeat that is safe outside an activity.
 *
 * Every write here goes to a temporary name in the target's own directory and is then renamed,
 * because a rename within one file system is atomic: a crash leaves either the old state or the
 * complete new file, never half a file under the final name.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';

/** A sha256 digest as lowercase hex, plus the number of bytes it covers. */
export interface FileDigest {
  sha256: string;
  sizeBytes: number;
}

/** sha256 of in-memory bytes or UTF-8 text, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams a file through sha256 (heartbeating on large files); rejects with the fs error, e.g. ENOENT. */
export async function sha256File(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    sizeBytes += bytes.length;
    heartbeatOnProgress(sizeBytes - bytes.length, sizeBytes, { hashedBytes: sizeBytes });
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** Whether `child` is `parent` itself or lies below it (both absolute, already resolved). */
export function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Writes `data` to `target` atomically and read-only: temp file in the same directory, fsync,
 * chmod, rename. A retry after a crash simply writes again; the rename replaces any earlier file.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode = 0o444,
): Promise<void> {
  const temp = join(dirname(target), `.tmp-${randomUUID()}`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, mode);
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}

/** True when an fs error has this `code` (ENOENT, EEXIST, ...). */
export function hasErrorCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && codes.includes(code);
}

/**
 * The running activity's context, or undefined when the code runs outside an activity (unit
 * tests, the `modelship scan` CLI) so that the same functions work everywhere.
 */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Records a heartbeat when running inside an activity, and throws the cancellation if the
 * workflow cancelled us: cancellation only reaches activities through heartbeats, so long loops
 * call this to stay both alive and stoppable. A no-op outside an activity.
 */
export function heartbeat(details?: unknown): void {
  const context = activityContext();
  if (!context) return;
  context.heartbeat(details);
  if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
}

/** The activity's cancellation signal (for fetch), or undefined outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

const HEARTBEAT_BYTES = 16 << 20;

/**
 * Heartbeats when a byte stream crosses a 16 MiB boundary between `before` and `after`, so
 * hashing or copying a large model stays alive without a heartbeat per chunk.
 */
export function heartbeatOnProgress(before: number, after: number, details: unknown): void {
  if (Math.floor(before / HEARTBEAT_BYTES) !== Math.floor(after / HEARTBEAT_BYTES)) heartbeat(details);
}

/**
 * Writes `source` to a new file at `to` (never overwriting: `wx`) while hashing it, and
 * heartbeats as bytes flow so a long copy of a large model does not look like a stuck worker.
 * `progressKey` names the byte count in the heartbeat details (e.g. `downloadedBytes`).
 */
export async function writeStreamHashing(
  source: Readable,
  to: string,
  progressKey: string,
): Promise<FileDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      heartbeatOnProgress(sizeBytes - chunk.length, sizeBytes, { [progressKey]: sizeBytes });
      done(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(to, { flags: 'wx', mode: 0o600 }));
  return { sha256: hash.digest('hex'), sizeBytes };
}
