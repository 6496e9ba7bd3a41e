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
