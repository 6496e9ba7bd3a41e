/**
 * The tree of a deployment's commit on this worker's disk. A deployment names a repository and a
 * commit, never a checkout: the worker that runs an activity fetches the commit into its own
 * cache (`sources/git/`) on first need, so the next activity of a run may run on another worker
 * on another machine. Activities read model files, the holdout and the policy from this tree.
 */
import { type DeploymentRef, repositoryOf } from '../domain/deployment.ts';
import { type GitCheckouts, GitSourceError } from '../sources/git/checkouts.ts';
import { domainFailure, FailureType } from './failures.ts';
import { cancellationSignal, heartbeat } from './heartbeat.ts';

/** Where an activity finds the files of a deployment's commit. */
export interface SourceTrees {
  /** Absolute path of the commit's tree; fetched first when this worker does not have it. */
  treeOf(deployment: DeploymentRef): Promise<string>;
}

/**
 * A Git source error as the activity reports it: a repository or commit that is not there, a
 * URL or commit that is not one, or content the worker refuses to check out (a symlink, a tree
 * that fails fsck) cannot be fixed by retrying; trouble reaching the server or authenticating (a
 * token being rotated) retries under the activity's policy. Any other kind follows the error's
 * own `retryable`, so a kind added later is never retried by accident.
 */
function sourceFailure(error: GitSourceError): unknown {
  switch (error.kind) {
    case 'commit-not-found':
    case 'repository-not-found':
      return domainFailure(FailureType.SourceNotFound, error.message, { repository: error.url });
    case 'invalid-url':
    case 'invalid-commit':
    case 'refused-content':
      return domainFailure(FailureType.UnsupportedSource, error.message, { repository: error.url });
    default:
      return error.retryable
        ? error
        : domainFailure(FailureType.UnsupportedSource, error.message, { repository: error.url });
  }
}

/** Source trees fetched from Git through the worker's checkout cache, with heartbeats while fetching. */
export function gitSourceTrees(checkouts: GitCheckouts): SourceTrees {
  return {
    async treeOf(deployment) {
      try {
        const signal = cancellationSignal();
        const { root } = await checkouts.checkout(repositoryOf(deployment), deployment.commit, {
          ...(signal ? { signal } : {}),
          onProgress: (progress) => heartbeat({ source: progress }),
        });
        return root;
      } catch (error) {
        throw error instanceof GitSourceError ? sourceFailure(error) : error;
      }
    },
  };
}
