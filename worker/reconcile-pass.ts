/**
 * Wires one reconcile pass (`gitops/reconcile.ts`) to a worker's own access: the deploy branch's
 * head fetched into its Git cache and read from there (the worker never reads anyone's checkout),
 * its Temporal client, its desired-state store. The `reconcileEnvironment` activity calls it.
 */
import type { Client } from '@temporalio/client';
import type { ReconcilePass } from '../activities/reconcile.ts';
import { CommitReader } from '../gitops/git.ts';
import { type ReconcileDataPlane, reconcileEnvironment } from '../gitops/reconcile.ts';
import type { GitCheckouts } from '../sources/git/checkouts.ts';

export interface ReconcilePassDeps {
  checkouts: GitCheckouts;
  dataPlane: ReconcileDataPlane;
  /** The worker's Temporal client, connected on first use. */
  client: () => Promise<Client>;
  /** Where runs that reconcile starts (policy `gitDrift: apply`) go: the worker's own task queue. */
  taskQueue: string;
}

export const DEFAULT_SPECS_DIR = 'specs';

export function reconcilePass(deps: ReconcilePassDeps): ReconcilePass {
  return async (request, progress) => {
    const client = await deps.client();
    let git: Parameters<typeof reconcileEnvironment>[0]['git'];
    if (request.repository !== undefined) {
      const ref = request.ref ?? 'HEAD';
      progress(`fetching ${ref} of ${request.repository}`);
      const { commit, gitDir } = await deps.checkouts.resolveRef(request.repository, ref);
      git = {
        reader: CommitReader.openGitDir(gitDir),
        repository: request.repository,
        commit,
        specsDir: request.specsDir ?? DEFAULT_SPECS_DIR,
      };
    }
    return reconcileEnvironment({
      environment: request.environment,
      ...(git ? { git } : {}),
      repair: request.repair,
      client,
      taskQueue: deps.taskQueue,
      dataPlane: deps.dataPlane,
      out: progress,
    });
  };
}
