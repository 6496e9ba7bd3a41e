/**
 * A commit's tree as plain, read-only files: `<home>/git/checkouts/<key>/<commit>/`.
 *
 * Built with Git's plumbing, not `git archive`: `read-tree` into an index file of our own
 * (`GIT_INDEX_FILE`, so nothing is shared with other builds) and `checkout-index` into a
 * directory beside the target, then one rename into place. `git archive` would drop paths marked
 * `export-ignore` and substitute `export-subst` placeholders; the index route writes every path
 * of the commit, and the cache's `info/attributes` turns off every conversion, so each file holds
 * its blob byte for byte. `read-tree` refuses paths Git considers unsafe (`..`, `.git`).
 *
 * What a hostile repository cannot do through a checkout:
 *
 * - escape it: a symlink whose target, resolved on disk, stays inside the tree is kept (a model
 *   directory linked as `current`, weights shared between versions), so the tree reads as the
 *   author's checkout does and the model scan judges a link out of a model's directory as it
 *   would there; a link that leaves the tree (an absolute target, `../` past the root, or a chain
 *   that ends outside) or dangles is removed, so reading it finds nothing. Git writes no file
 *   through a link (it checks every leading directory), and the tree is walked after the links
 *   are judged, so a removal that leaves another link dangling removes that one too;
 * - run code: no hook runs, no submodule is fetched (a submodule is an empty directory), no
 *   filter runs (Git LFS pointers stay pointers; a model stored with LFS must be an https
 *   source instead);
 * - change it later: files and directories are made read-only before the rename, and readers
 *   see either no directory or the whole tree.
 *
 * Two processes building the same commit each build their own copy; the first rename wins and
 * the other discards its copy, so both end with the complete tree.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, realpath, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { RunGit } from './git-process.ts';

/** Whether `path` is a directory (a finished checkout: only complete trees are renamed into place). */
export async function isDirectory(path: string): Promise<boolean> {
  return lstat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

/** Thrown when the written tree holds something a checkout must not (a device, a pipe). */
export class UnsafeTreeError extends Error {
  override readonly name = 'UnsafeTreeError';
}

/** Every symlink under `path`, not following any (a linked directory is not entered). */
async function linksUnder(path: string): Promise<string[]> {
  const links: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isSymbolicLink()) links.push(child);
    else if (entry.isDirectory()) links.push(...(await linksUnder(child)));
  }
  return links;
}

/**
 * Removes every link that leaves `root` or dangles, judged by where the file system resolves it
 * (so `a/../..` through a linked directory counts where it lands), until none does: removing one
 * link can leave a chain through it dangling.
 */
async function removeEscapingLinks(root: string): Promise<void> {
  const realRoot = await realpath(root);
  for (;;) {
    let removed = false;
    for (const link of await linksUnder(root)) {
      const target = await realpath(link).catch(() => undefined);
      if (target !== undefined && (target === realRoot || target.startsWith(realRoot + sep))) continue;
      await unlink(link);
      removed = true;
    }
    if (!removed) return;
  }
}

/**
 * Makes every file read-only (keeping the execute bit) and every directory read-only, deepest
 * first; links are left as they are (their targets are sealed where they lie); refuses a tree
 * that holds anything but files, directories and links.
 */
async function sealTree(path: string): Promise<void> {
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await sealTree(child);
    else if (entry.isFile()) {
      const { mode } = await lstat(child);
      await chmod(child, mode & 0o111 ? 0o555 : 0o444);
    } else throw new UnsafeTreeError(`${child} is neither a file nor a directory`);
  }
  await chmod(path, 0o555);
}

/**
 * Removes a tree this module sealed: directories are made writable again first, since removing a
 * file needs write permission on its directory (root does not need it, anyone else does).
 */
export async function removeTree(path: string): Promise<void> {
  const unseal = async (directory: string): Promise<void> => {
    await chmod(directory, 0o700).catch(() => {});
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await unseal(join(directory, entry.name));
  };
  if (await isDirectory(path)) await unseal(path);
  await rm(path, { recursive: true, force: true });
}

/**
 * Writes the tree of `commit` (present in `gitDir`) to `target` unless it is there already.
 * Resolves true when this call put it there.
 */
export async function materialiseTree(
  git: RunGit,
  gitDir: string,
  commit: string,
  target: string,
  signal?: AbortSignal,
): Promise<boolean> {
  if (await isDirectory(target)) return false;
  await mkdir(dirname(target), { recursive: true });
  const building = await mkdtemp(join(dirname(target), `.building-${commit.slice(0, 12)}-`));
  const index = `${building}.index`;
  const run = { env: { GIT_INDEX_FILE: index }, ...(signal ? { signal } : {}) };
  try {
    await git(['--git-dir', gitDir, 'read-tree', commit], run);
    // Links written as links here only (every other run writes them as files): see the module comment.
    await git(
      ['-c', 'core.symlinks=true', '--git-dir', gitDir, '--work-tree', building, 'checkout-index', '--all'],
      {
        ...run,
        cwd: building,
      },
    );
    await removeEscapingLinks(building);
    await sealTree(building);
    try {
      await rename(building, target);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await isDirectory(target))) return false;
      throw error;
    }
  } finally {
    await rm(index, { force: true });
    await removeTree(building);
  }
}
