/**
 * The worker's own copies of deployments' commits. A deployment names a repository URL and a
 * commit; `checkout` answers with a directory holding that commit's tree, fetching the commit
 * first when this worker has never seen it. Layout under `<home>/git/`:
 *
 * - `repos/<key>.git`: one bare repository per URL (repository-cache.ts);
 * - `checkouts/<key>/<commit>/`: read-only trees (tree.ts), the least recently used beyond
 *   `keep` per repository removed (eviction.ts).
 *
 * `<key>` derives from the URL, which never holds credentials (such URLs are refused), so no
 * path, message or error carries them; credentials come from the worker's environment
 * (credentials.ts). Within one process, concurrent calls for one commit share one fetch and one
 * checkout (shared-work.ts), and fetches into one repository run one at a time; across
 * processes on one home every step is safe to race (renames into place, Git's own locks).
 */
import { join } from 'node:path';
import { serialized } from '../../oci/serial.ts';
import { authConfig, type GitCredentials, redactor, sshCommand } from './credentials.ts';
import { GitSourceError, sourceError } from './errors.ts';
import { evictCheckouts, markUsed } from './eviction.ts';
import { GitCommandError, gitEnvironment, gitRunner } from './git-process.ts';
import { fetchCommit, hasCommit, openRepository } from './repository-cache.ts';
import { parseCommit, parseRepositoryUrl, type RepositoryLocation } from './repository-url.ts';
import { SharedWork } from './shared-work.ts';
import { isDirectory, materialiseTree, UnsafeTreeError } from './tree.ts';

export type { GitCredentials } from './credentials.ts';
export { gitCredentialsFromEnv } from './credentials.ts';
export { GitSourceError, type GitSourceErrorKind } from './errors.ts';

/** Where a checkout stands, for heartbeats: Git's own stage and percentage while fetching. */
export interface CheckoutProgress {
  phase: 'fetching' | 'checking-out';
  /** Git's stage, e.g. `receiving objects`, `resolving deltas`. */
  stage?: string;
  percent?: number;
}

export interface CheckoutOptions {
  /** Stops waiting (and the fetch, when no other caller waits for it). */
  signal?: AbortSignal;
  /** Called as the checkout progresses; a throw ends this call with that error. */
  onProgress?: (progress: CheckoutProgress) => void;
}

/** A commit's tree on this worker's disk. */
export interface Checkout {
  /** Absolute path of the tree; read-only. */
  root: string;
  /** The commit, as a lower-case full id. */
  commit: string;
  /** Whether this call fetched from the repository's server. */
  fetched: boolean;
}

export interface GitCheckoutsOptions {
  /** `MODELSHIP_HOME`; the cache lives in `<home>/git`. */
  home: string;
  credentials?: GitCredentials;
  /** Checkouts kept per repository, the one being handed out included (default 20). */
  keep?: number;
  /** Environment Git runs in, cleaned of Git's own variables (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** A fetch that prints nothing for this long is stopped as `unreachable` (default 2 minutes). */
  stallTimeoutMs?: number;
  /** Whether paths and file:// URLs may name repositories (default true: the single-machine case). */
  allowLocal?: boolean;
}

/** A ref resolved on its server: the commit, and the cache's bare repository that now holds it. */
export interface ResolvedRef {
  commit: string;
  gitDir: string;
}

/**
 * A ref a fetch may name: `HEAD`, or a branch or tag name Git accepts (`check-ref-format` rules
 * that matter here: no `..`, no leading `-` or `/`, no control characters, spaces or `~^:?*[\\`).
 */
function checkRefName(ref: string, where: string): string {
  const ok =
    ref === 'HEAD' ||
    (/^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/.test(ref) &&
      !ref.includes('..') &&
      !ref.includes('//') &&
      !ref.endsWith('/') &&
      !ref.endsWith('.lock') &&
      !ref.endsWith('.'));
  if (!ok)
    throw new GitSourceError('invalid-commit', `"${ref}" is not a branch, tag or HEAD of ${where}`, where);
  return ref;
}

const DEFAULT_KEEP = 20;
const DEFAULT_STALL_TIMEOUT_MS = 120_000;

/** The checkout cache of one worker home. */
export class GitCheckouts {
  readonly #home: string;
  readonly #credentials: GitCredentials;
  readonly #keep: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #stallTimeoutMs: number;
  readonly #allowLocal: boolean;
  readonly #redact: (text: string) => string;
  readonly #work = new SharedWork<Checkout, CheckoutProgress>();

  constructor(options: GitCheckoutsOptions) {
    const keep = options.keep ?? DEFAULT_KEEP;
    if (!Number.isInteger(keep) || keep < 1) {
      throw new RangeError(`keep must be a whole number ≥ 1, not ${keep}`);
    }
    this.#home = options.home;
    this.#credentials = options.credentials ?? {};
    this.#keep = keep;
    this.#env = options.env ?? process.env;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#allowLocal = options.allowLocal ?? true;
    this.#redact = redactor(this.#credentials);
  }

  /**
   * A read-only tree of `commit` of `url`: `<home>/git/checkouts/<key>/<commit>`, fetched on
   * first need. Rejects with a {@link GitSourceError} when the URL or commit is refused or cannot
   * be had, and with the signal's reason when cancelled.
   */
  async checkout(url: string, commit: string, options: CheckoutOptions = {}): Promise<Checkout> {
    const location = parseRepositoryUrl(url, { allowLocal: this.#allowLocal });
    const id = parseCommit(commit, location);
    const root = join(this.#home, 'git', 'checkouts', location.key, id);
    return this.#work.run(
      root,
      (signal, progress) => this.#produce(location, id, root, signal, progress),
      options,
    );
  }

  /**
   * The commit `ref` (a branch, a tag, or `HEAD`: the server's default branch) names on the
   * server right now, fetched into this worker's cache; the bare repository it lands in can be
   * read with `git --git-dir` (reconcile reads the specs at a deploy branch's head this way).
   */
  async resolveRef(url: string, ref: string, options: { signal?: AbortSignal } = {}): Promise<ResolvedRef> {
    const location = parseRepositoryUrl(url, { allowLocal: this.#allowLocal });
    const wanted = checkRefName(ref, location.display);
    const git = gitRunner(
      gitEnvironment(this.#env, authConfig(this.#credentials, location), sshCommand(this.#credentials)),
    );
    const reposDir = join(this.#home, 'git', 'repos');
    // Branch heads are looked up in SHA-1 repositories: a SHA-256 one has no shared cache with them.
    return serialized(`git-repository:${reposDir}/${location.key}.sha1`, async () => {
      const gitDir = await this.#guard(location, 'opening the cache of', () =>
        openRepository(git, reposDir, location, 'sha1'),
      );
      const local = `refs/modelship/resolved/${wanted === 'HEAD' ? 'HEAD' : wanted.replace(/^refs\//, '')}`;
      try {
        await git(
          [
            '--git-dir',
            gitDir,
            'fetch',
            '--quiet',
            '--no-write-fetch-head',
            '--no-tags',
            '--',
            location.url,
            `+${wanted}:${local}`,
          ],
          { stallTimeoutMs: this.#stallTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
        );
      } catch (error) {
        // Git names a missing ref in words its other failures never use; it is not worth retrying.
        if (error instanceof GitCommandError && /couldn't find remote ref/i.test(error.stderr)) {
          throw new GitSourceError(
            'commit-not-found',
            `${location.display} has no branch or tag "${wanted}"`,
            location.display,
          );
        }
        throw sourceError(location.display, `fetching ${wanted} from`, error, this.#redact);
      }
      const commit = (await git(['--git-dir', gitDir, 'rev-parse', '--verify', `${local}^{commit}`])).trim();
      return { commit, gitDir };
    });
  }

  async #produce(
    location: RepositoryLocation,
    commit: string,
    root: string,
    signal: AbortSignal,
    progress: (progress: CheckoutProgress) => void,
  ): Promise<Checkout> {
    if (await isDirectory(root)) {
      await markUsed(root);
      return { root, commit, fetched: false };
    }
    const git = gitRunner(
      gitEnvironment(this.#env, authConfig(this.#credentials, location), sshCommand(this.#credentials)),
    );
    const reposDir = join(this.#home, 'git', 'repos');
    const format = commit.length === 64 ? 'sha256' : 'sha1';
    const { gitDir, fetched } = await serialized(
      `git-repository:${reposDir}/${location.key}.${format}`,
      async () => {
        const gitDir = await this.#guard(location, 'opening the cache of', () =>
          openRepository(git, reposDir, location, format),
        );
        if (await hasCommit(git, gitDir, commit)) return { gitDir, fetched: false };
        progress({ phase: 'fetching' });
        await fetchCommit({
          git,
          gitDir,
          location,
          commit,
          redact: this.#redact,
          run: {
            signal,
            stallTimeoutMs: this.#stallTimeoutMs,
            onProgress: (stage, percent) =>
              progress({ phase: 'fetching', stage, ...(percent === undefined ? {} : { percent }) }),
          },
        });
        return { gitDir, fetched: true };
      },
    );
    progress({ phase: 'checking-out' });
    const created = await this.#guard(location, `checking out ${commit} of`, () =>
      materialiseTree(git, gitDir, commit, root, signal),
    );
    await markUsed(root);
    if (created) {
      // Eviction only frees disk: its trouble must not fail a checkout that succeeded, and the
      // next new tree of this repository tries again.
      await evictCheckouts(join(this.#home, 'git', 'checkouts', location.key), this.#keep, commit).catch(
        () => {},
      );
    }
    return { root, commit, fetched };
  }

  /** Runs a local Git step, turning its failure into a source error of this repository. */
  async #guard<T>(location: RepositoryLocation, doing: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof UnsafeTreeError) {
        throw new GitSourceError(
          'refused-content',
          `${doing} ${location.display} failed: ${error.message}`,
          location.display,
        );
      }
      if (error instanceof GitCommandError) throw sourceError(location.display, doing, error, this.#redact);
      throw error;
    }
  }
}
