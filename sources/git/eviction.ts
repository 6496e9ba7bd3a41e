/**
 * Keeps a repository's checkouts few: at most `keep` per repository, the least recently used
 * removed first. Use is the checkout directory's modification time, set to now each time the
 * checkout is handed out, so the record survives restarts and is shared by every process on
 * the home. A removed checkout is first renamed aside, so a reader finds either the whole tree
 * or none, and can be rebuilt from the repository cache without the network.
 *
 * The trade-off: an activity still reading a tree that 20 (the default `keep`) newer commits of
 * the same repository pushed out loses it mid-read and fails, to be retried. Activities ask for
 * the tree at their start, which marks it used, so `keep` must only exceed the number of
 * commits of one repository in use at once.
 *
 * Leftovers of crashed processes go too: renamed-aside trees at once, half-built ones after an
 * hour (a live build is minutes at most).
 */
import { lstat, readdir, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from './tree.ts';

const CHECKOUT_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const STALE_BUILD_MS = 60 * 60 * 1000;

/** Records that the checkout at `path` was handed out now. */
export async function markUsed(path: string): Promise<void> {
  const now = new Date();
  // Another user's tree on a shared home cannot be touched; it then ages as if unused.
  await utimes(path, now, now).catch(() => {});
}

/**
 * Removes the least recently used checkouts in `directory` (one repository's) beyond `keep`,
 * never `current`; resolves with the commits removed.
 */
export async function evictCheckouts(directory: string, keep: number, current: string): Promise<string[]> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const now = Date.now();
  const checkouts: { name: string; usedAt: number }[] = [];
  for (const name of names) {
    const stats = await lstat(join(directory, name)).catch(() => undefined);
    if (!stats) continue;
    if (name.startsWith('.trash-')) await removeTree(join(directory, name));
    else if (name.startsWith('.building-') && now - stats.mtimeMs > STALE_BUILD_MS) {
      await (stats.isDirectory()
        ? removeTree(join(directory, name))
        : rm(join(directory, name), { force: true }));
    } else if (CHECKOUT_NAME.test(name) && stats.isDirectory() && name !== current) {
      checkouts.push({ name, usedAt: stats.mtimeMs });
    }
  }
  const others = Math.max(0, keep - 1);
  const evicted = checkouts.sort((a, b) => b.usedAt - a.usedAt).slice(others);
  for (const { name } of evicted) {
    const aside = join(directory, `.trash-${name}-${process.pid}-${Math.random().toString(36).slice(2)}`);
    // Another process may be evicting the same tree; whoever renames it removes it.
    const moved = await rename(join(directory, name), aside).then(
      () => true,
      () => false,
    );
    if (moved) await removeTree(aside);
  }
  return evicted.map(({ name }) => name);
}
