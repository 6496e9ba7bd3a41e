/**
 * File primitives the model library and the activities share: sha256 digests of files and bytes,
 * atomic file writes, path containment. Long operations report progress through an optional
 * callback, so an activity can heartbeat while the library stays free of Temporal.
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

/** A sha256 digest as lowercase hex, plus the number of bytes it covers. */
export interface FileDigest {
  sha256: string;
  sizeBytes: number;
}

/** Called now and then during a long read or write, with a small progress object. */
export type OnProgress = (details: Record<string, number>) => void;

const PROGRESS_BYTES = 16 << 20;

/** Reports progress when a byte stream crosses a 16 MiB boundary between `before` and `after`. */
function progressAt(
  before: number,
  after: number,
  onProgress: OnProgress | undefined,
  details: Record<string, number>,
) {
  if (onProgress && Math.floor(before / PROGRESS_BYTES) !== Math.floor(after / PROGRESS_BYTES))
    onProgress(details);
}

/** sha256 of in-memory bytes or UTF-8 text, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams a file through sha256; rejects with the fs error, e.g. ENOENT. */
export async function sha256File(path: string, onProgress?: OnProgress): Promise<FileDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    sizeBytes += bytes.length;
    progressAt(sizeBytes - bytes.length, sizeBytes, onProgress, { hashedBytes: sizeBytes });
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
 * Writes `source` to a new file at `to` (never overwriting: `wx`) while hashing it, reporting
 * progress as bytes flow (an activity heartbeats on it, so a long copy does not look stuck).
 * `progressKey` names the byte count in the heartbeat details (e.g. `downloadedBytes`).
 */
export async function writeStreamHashing(
  source: Readable,
  to: string,
  progressKey: string,
  onProgress?: OnProgress,
): Promise<FileDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      progressAt(sizeBytes - chunk.length, sizeBytes, onProgress, { [progressKey]: sizeBytes });
      done(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(to, { flags: 'wx', mode: 0o600 }));
  return { sha256: hash.digest('hex'), sizeBytes };
}
