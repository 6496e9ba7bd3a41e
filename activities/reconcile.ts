/**
 * The `reconcileEnvironment` activity: one pass of reconcile for one environment, run by a worker
 * because only workers reach the deployments' repositories and the desired state. The pass itself
 * (`gitops/reconcile.ts`, observe, judge, repair, apply) reaches this layer as a port the worker
 * wires in, since `gitops/` sits below the activities.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ReconcileReport, ReconcileRequest } from '../domain/reconcile.ts';
import { GitSourceError } from '../sources/git/checkouts.ts';
import { heartbeat } from './heartbeat.ts';

export type { ReconcileRequest };

/** One reconcile pass, with the worker's access to Git, Temporal and the desired state. */
export type ReconcilePass = (
  request: ReconcileRequest,
  progress: (line: string) => void,
) => Promise<ReconcileReport>;

/** Why a pass cannot run on this worker at all: retrying will not help. */
export class ReconcileUnavailableError extends Error {}

export function createReconcileActivities(deps: { reconcile?: ReconcilePass }) {
  return {
    async reconcileEnvironment(request: ReconcileRequest): Promise<ReconcileReport> {
      if (!deps.reconcile) {
        throw ApplicationFailure.nonRetryable(
          'reconcile needs a worker whose data plane follows desired state (MODELSHIP_DATA_PLANE_MODE=desired-state)',
          'ReconcileUnavailable',
        );
      }
      try {
        return await deps.reconcile(request, (line) => heartbeat({ line }));
      } catch (error) {
        if (error instanceof ReconcileUnavailableError) {
          throw ApplicationFailure.nonRetryable(error.message, 'ReconcileUnavailable');
        }
        // A repository or branch that is not there, or a URL that is not one, stays so.
        if (error instanceof GitSourceError && !error.retryable) {
          throw ApplicationFailure.nonRetryable(error.message, 'SourceNotFound');
        }
        throw error;
      }
    },
  };
}
