/**
 * Files replaced whole, never in place: the new text goes to a temp file beside the target,
 * which is renamed over it. A reader sees the old file or the new one, never half of either, and
 * a crash leaves the old file plus a stray temp file (named `.<name>.<pid>.<random>.tmp`, which
 * readers skip and `removeStaleTemps` clears). `durable` also fsyncs the file before the rename
 * and the directory after it, so an acknowledged write survives a power cut.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** How {@link writeFileAtomic} writes. */
export interface AtomicWriteOptions {
  /** fsync file and directory (the desired state); off for heartbeats a crash may lose. */
  durable: boolean;
  /** Runs after the temp file is complete and before the rename: a last chance to refuse. */
  beforeRename?: () => Promise<void>;
}

/** Replaces `path` with `text` atomically; see the module comment. */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: AtomicWriteOptions,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.();
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (options.durable) await syncDirectory(dirname(path));
}

/** Appends one line and fsyncs it (the history: written once, read by people). */
export async function appendLineDurably(path: string, line: string): Promise<void> {
  const handle = await open(path, 'a', 0o644);
  try {
    await handle.write(`${line}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes temp files of `name` (of any file when undefined) in `directory` older than
 * `olderThanMs`: left by a crashed writer.
 */
export async function removeStaleTemps(
  directory: string,
  name: string | undefined,
  olderThanMs: number,
): Promise<void> {
  const prefix = name === undefined ? '.' : `.${name}.`;
  for (const entry of await readdir(directory).catch(() => [] as string[])) {
    if (!entry.startsWith(prefix) || !entry.endsWith('.tmp')) continue;
    const path = join(directory, entry);
    const age = await stat(path).then(
      (info) => Date.now() - info.mtimeMs,
      () => undefined,
    );
    if (age !== undefined && age >= olderThanMs) await rm(path, { force: true });
  }
}

/** Makes a rename in `directory` durable. Some systems cannot fsync a directory; they are skipped. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}
