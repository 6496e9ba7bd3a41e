/**
 * Writing files so that a crash never leaves a partial one under its final name: bytes go to a
 * temporary file on the same file system, are flushed to disk, verified, and only then renamed
 * into place (a rename within a file system is atomic). Shared by both back ends: the layout
 * writes its blobs and `index.json` this way, and both write fetched blobs this way.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, DigestingStream } from './digest.ts';
import { OciError } from './errors.ts';

/** A fresh temporary name for `target`, in `tempDir` or else beside `target`. */
export function temporaryPath(target: string, tempDir?: string): string {
  const name = `.${basename(target)}.partial-${randomBytes(6).toString('hex')}`;
  return join(tempDir ?? dirname(target), name);
}

/** Flushes a directory's entries (a rename in it) to disk; file systems that refuse are skipped. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

/** Flushes a written file's bytes to disk, so the rename that follows never names a torn file. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `bytes` to `target` atomically (temporary file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(target: string, bytes: Uint8Array, tempDir?: string): Promise<void> {
  const temporary = temporaryPath(target, tempDir);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(target));
}

export interface VerifiedWrite {
  /** Refuse (and remove) the bytes unless they hash to this digest. */
  expected?: Digest;
  expectedSize?: number;
  maxBytes: number;
  /** Names the content in errors, e.g. `blob sha256:… of models/iris in OCI layout /x`. */
  what: string;
  /** Where the temporary file goes (same file system as the target); default beside the target. */
  tempDir?: string;
}

/**
 * Streams `source` into `target` through a digest and a size cap, and renames it into place only
 * when it is complete and verified. `target` may depend on the digest (a blob named by it), then
 * `tempDir` is needed. Returns the digest and size of what was read.
 */
export async function writeStreamVerified(
  source: Readable,
  target: string | ((digest: Digest) => string),
  options: VerifiedWrite,
): Promise<{ digest: Digest; size: number }> {
  if (typeof target !== 'string' && options.tempDir === undefined) {
    throw new Error('writeStreamVerified: a target named by its digest needs a tempDir');
  }
  const temporary = temporaryPath(typeof target === 'string' ? target : 'blob', options.tempDir);
  const digesting = new DigestingStream(
    options.maxBytes,
    (max) => new OciError('too-large', `${options.what} is larger than the ${max}-byte limit`),
  );
  try {
    await pipeline(source, digesting, createWriteStream(temporary, { flags: 'wx' }));
    await syncFile(temporary);
    const result = digesting.result();
    if (options.expected !== undefined && result.digest !== options.expected) {
      throw new OciError(
        'digest-mismatch',
        `${options.what}: the bytes read hash to ${result.digest}, not to ${options.expected}`,
      );
    }
    if (options.expectedSize !== undefined && result.size !== options.expectedSize) {
      throw new OciError(
        'digest-mismatch',
        `${options.what}: ${result.size} bytes read, the descriptor says ${options.expectedSize}`,
      );
    }
    // Renaming over an existing blob of the same digest replaces it with identical bytes.
    const final = typeof target === 'string' ? target : target(result.digest);
    await rename(temporary, final);
    await syncDirectory(dirname(final));
    return result;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
