/**
 * Starting Reconcile runs: one pass now (`modelship reconcile`), a pass every interval (a
 * Temporal Schedule), or an observe-only pass for `status` and `apply`, which must not call
 * anything deployed that no replica serves. Every pass runs on a worker (see
 * `workflows/reconcile.ts`); this process needs nothing but a Temporal client.
 */
import { randomUUID } from 'node:crypto';
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowFailedError,
} from '@temporalio/client';
import { MEMO_DEPLOYMENT_KEY } from '../domain/deployment.ts';
import type { ReconcileReport, ReconcileRequest } from '../domain/reconcile.ts';
import type { Reconcile } from '../workflows/reconcile.ts';

/** The workflow id of an environment's reconcile passes, and of its schedule. */
export function reconcileWorkflowId(environment: string): string {
  return `reconcile/${environment}`;
}

function memoOf(environment: string) {
  // The audit interceptor names an activity's deployment from this memo: all models of the environment.
  return { [MEMO_DEPLOYMENT_KEY]: { model: '*', environment, commit: 'head' } };
}

/**
 * Runs one pass and waits for its report. A pass already running for the environment (the
 * schedule's) is joined rather than doubled.
 */
export async function runReconcile(
  client: Client,
  taskQueue: string,
  request: ReconcileRequest,
): Promise<ReconcileReport> {
  const handle = await client.workflow.start<typeof Reconcile>('Reconcile', {
    taskQueue,
    workflowId: reconcileWorkflowId(request.environment),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [request],
    memo: memoOf(request.environment),
    staticSummary: `reconcile ${request.environment}${request.repair ? '' : ' (check only)'}`,
  });
  return handle.result();
}

/** Why an observe-only pass gave no report: no worker answered, or the pass failed. */
export type ServingCheck = { report: ReconcileReport } | { error: string };

/**
 * An observe-only pass (no Git, no repair, not audited) under a workflow id of its own, given at
 * most `timeoutMs`: `status` and `apply` ask it whether what Temporal calls deployed is served.
 */
export async function checkServing(
  client: Client,
  taskQueue: string,
  environment: string,
  timeoutMs = 15_000,
): Promise<ServingCheck> {
  const handle = await client.workflow.start<typeof Reconcile>('Reconcile', {
    taskQueue,
    workflowId: `reconcile-check/${environment}/${randomUUID()}`,
    args: [{ environment, repair: false }],
    memo: memoOf(environment),
    workflowExecutionTimeout: timeoutMs,
    staticSummary: `is ${environment} served? (check only)`,
  });
  try {
    return { report: await handle.result() };
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      // A timeout has no cause of its own; an activity's failure is the cause's cause.
      const cause = (error.cause?.cause ?? error.cause) as Error | undefined;
      return {
        error:
          error.cause?.name === 'TimeoutFailure'
            ? `no worker answered within ${Math.round(timeoutMs / 1000)} s`
            : (cause?.message ?? error.message),
      };
    }
    return { error: (error as Error).message };
  }
}

/**
 * Creates the environment's reconcile schedule (`reconcile/<env>`), or updates its interval and
 * request when it exists. Overlapping passes are skipped: a slow pass is never doubled.
 */
export async function scheduleReconcile(
  client: Client,
  taskQueue: string,
  request: ReconcileRequest,
  every: string | number,
): Promise<'created' | 'updated'> {
  const scheduleId = reconcileWorkflowId(request.environment);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'Reconcile',
    args: [request],
    taskQueue,
    workflowId: scheduleId,
    memo: memoOf(request.environment),
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec: { intervals: [{ every }] },
      action,
    }));
    return 'updated';
  }
}

/** Deletes the environment's reconcile schedule; false when there was none. */
export async function unscheduleReconcile(client: Client, environment: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(reconcileWorkflowId(environment)).delete();
    return true;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return false;
    throw error;
  }
}
