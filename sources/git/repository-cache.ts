/**
 * One bare repository per repository URL, `<home>/git/repos/<key>.git` (`<key>.sha256.git` for
 * SHA-256 repositories, whose objects cannot share a store with SHA-1 ones), holding every commit
 * this worker has fetched from it. A commit is fetched only when the cache lacks it.
 *
 * Fetching asks the server for the commit itself first. Protocol v2 (Git's default since 2.26,
 * and what `git http-backend`, GitHub and GitLab speak) serves any object the server has, so
 * that is one round trip for just that commit's history. Protocol v0 servers refuse
 * unadvertised objects; then every branch and tag is fetched and the commit looked for again.
 * Each fetched commit gets a ref, `refs/modelship/commits/<id>`, so no garbage collection ever
 * drops it; branches and tags are mirrored under `refs/modelship/heads|tags/` and pruned, and
 * serve as the base of the next fetch's negotiation.
 *
 * The cache never shrinks by itself (only checkouts are evicted); deleting `<home>/git/repos`
 * while no worker runs is always safe.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitSourceError, sourceError } from './errors.ts';
import type { GitRunOptions, RunGit } from './git-process.ts';
import type { RepositoryLocation } from './repository-url.ts';

/**
 * Overrides every `.gitattributes` of a checked-out commit (`info/attributes` takes precedence
 * over the tree's own): no line-ending conversion, no `$Id$` expansion, no filter (an LFS pointer
 * stays a pointer), no re-encoding. A checkout holds the commit's blobs byte for byte, which is
 * what digests pinned in a spec were computed from.
 */
const EXACT_ATTRIBUTES = '* -text -crlf -ident -filter -working-tree-encoding\n';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The cache's bare repository of `location`, created on first use: initialised beside its final
 * name and renamed into place, so a crash never leaves half a repository, and a process that
 * loses the race to create it uses the winner's.
 */
export async function openRepository(
  git: RunGit,
  reposDir: string,
  location: RepositoryLocation,
  objectFormat: 'sha1' | 'sha256',
): Promise<string> {
  const gitDir = join(reposDir, `${location.key}${objectFormat === 'sha256' ? '.sha256' : ''}.git`);
  if (!(await exists(join(gitDir, 'HEAD')))) {
    await mkdir(reposDir, { recursive: true });
    const building = await mkdtemp(join(reposDir, `.init-${location.key}-`));
    try {
      // An empty template: a configured `init.templateDir` could otherwise bring hooks.
      await git(['init', '--quiet', '--bare', '--template=', `--object-format=${objectFormat}`, building]);
      await rename(building, gitDir).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      });
    } finally {
      await rm(building, { recursive: true, force: true });
    }
  }
  const attributes = join(gitDir, 'info', 'attributes');
  const current = await readFile(attributes, 'utf8').catch(() => undefined);
  if (current !== EXACT_ATTRIBUTES) {
    await mkdir(join(gitDir, 'info'), { recursive: true });
    await writeFile(attributes, EXACT_ATTRIBUTES);
  }
  return gitDir;
}

/** Whether the cache holds `commit` as a commit (not a tag, tree or blob of that id). */
export async function hasCommit(git: RunGit, gitDir: string, commit: string): Promise<boolean> {
  return git(['--git-dir', gitDir, 'cat-file', '-t', commit]).then(
    (type) => type.trim() === 'commit',
    () => false,
  );
}

export interface FetchCommitInput {
  git: RunGit;
  gitDir: string;
  location: RepositoryLocation;
  commit: string;
  redact: (text: string) => string;
  run: Pick<GitRunOptions, 'signal' | 'onProgress' | 'stallTimeoutMs'>;
}

/** Kinds that end fetching at once: asking again for branches and tags would fail the same way. */
const FINAL_KINDS = new Set<GitSourceError['kind']>([
  'auth-failed',
  'repository-not-found',
  'unreachable',
  'refused-content',
]);

/**
 * Fetches `commit` into the cache; throws `commit-not-found` when the server does not have it
 * (not even among its branches and tags), or the kind Git's failure names.
 */
export async function fetchCommit(input: FetchCommitInput): Promise<void> {
  const { git, gitDir, location, commit, redact } = input;
  const fetch = (refspecs: string[], extra: string[] = []) =>
    git(
      [
        '--git-dir',
        gitDir,
        'fetch',
        '--quiet',
        '--progress',
        '--no-write-fetch-head',
        '--no-tags',
        '--no-recurse-submodules',
        ...extra,
        '--',
        location.url,
        ...refspecs,
      ],
      input.run,
    );
  try {
    await fetch([`+${commit}:refs/modelship/commits/${commit}`]);
  } catch (error) {
    const failure = sourceError(location.display, `fetching commit ${commit} from`, error, redact);
    if (!(failure instanceof GitSourceError) || FINAL_KINDS.has(failure.kind)) throw failure;
    try {
      await fetch(
        ['+refs/heads/*:refs/modelship/heads/*', '+refs/tags/*:refs/modelship/tags/*'],
        ['--prune'],
      );
    } catch (fallbackError) {
      // Another process fetching into this cache can hold a ref lock; what counts is whether
      // the commit arrived.
      if (!(await hasCommit(git, gitDir, commit))) {
        throw sourceError(location.display, `fetching branches and tags of`, fallbackError, redact);
      }
    }
  }
  if (!(await hasCommit(git, gitDir, commit))) {
    throw new GitSourceError(
      'commit-not-found',
      `commit ${commit} is not in ${location.display}: neither the server nor any of its branches and tags ` +
        'has it. Push the commit (a branch or tag that contains it) and start the deployment again.',
      location.display,
    );
  }
  // Kept by a ref of its own whichever way it arrived; failing that only risks a refetch after a gc.
  await git(['--git-dir', gitDir, 'update-ref', `refs/modelship/commits/${commit}`, commit]).catch(() => {});
}
