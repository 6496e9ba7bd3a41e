/** Where a spec file sits in Git: repository root, path inside it, and the commit it is read at. */
import { dirname, relative, resolve } from 'node:path';
import { simpleGit } from 'simple-git';

export interface SpecLocation {
  repoRoot: string;
  /** Path of the spec relative to the repository root, with forward slashes. */
  specPath: string;
  /** HEAD's sha. */
  commit: string;
  /** The spec file differs from HEAD: a worker fetching HEAD would not see what is on disk. */
  dirty: boolean;
  /** Author of HEAD, the commit being deployed. */
  author: { name: string; email: string };
}

export async function locateSpec(file: string): Promise<SpecLocation> {
  const absolute = resolve(file);
  const git = simpleGit(dirname(absolute));
  let repoRoot: string;
  try {
    repoRoot = (await git.revparse(['--show-toplevel'])).trim();
  } catch {
    throw new Error(`${file} is not inside a git repository; modelship deploys what is committed`);
  }
  const specPath = relative(repoRoot, absolute).split('\\').join('/');
  let head: string;
  try {
    head = (await git.revparse(['HEAD'])).trim();
  } catch {
    throw new Error(`the repository at ${repoRoot} has no commits yet`);
  }
  const status = await simpleGit(repoRoot).status(['--', specPath]);
  const dirty = status.files.length > 0;
  const [name = '', email = ''] = (await git.raw(['log', '-1', '--format=%an%x00%ae', head]))
    .trim()
    .split('\0');
  return { repoRoot, specPath, commit: head, dirty, author: { name, email } };
}
