/**
 * The latest DeployModel run of a workflow id, read from Temporal for `apply`'s decision. Memo
 * and result come from outside this process (and from older or newer versions of the workflow),
 * so they are parsed with zod at this boundary; fields that do not fit are simply unknown.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { MEMO_DEPLOYMENT_KEY } from '../domain/deployment.ts';
import { DeploymentMemoSchema } from '../domain/run-start.ts';
import type { ObservedRun } from './apply-decision.ts';

// Only what the decision needs, each optional: runs started by older versions lack the digest.
const MemoSchema = DeploymentMemoSchema.pick({ commit: true, specDigest: true }).partial();

// Loose on purpose: only what the decision and its message need, whatever else the result holds.
const ResultSchema = z.object({
  outcome: z.string(),
  summary: z.string().optional(),
  commit: z.string().optional(),
  specDigest: z.string().optional(),
  rejection: z.object({ message: z.string() }).optional(),
  rollback: z.object({ reason: z.string() }).optional(),
});

/** The latest run for `workflowId`, or undefined when there never was one. */
export async function observeLatestRun(client: Client, workflowId: string): Promise<ObservedRun | undefined> {
  let description: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  const { runId } = description;
  const memo = MemoSchema.safeParse(description.memo?.[MEMO_DEPLOYMENT_KEY]);
  const fromMemo = {
    ...(memo.success && memo.data.commit !== undefined ? { commit: memo.data.commit } : {}),
    ...(memo.success && memo.data.specDigest !== undefined ? { specDigest: memo.data.specDigest } : {}),
  };
  const status = description.status.name;
  if (status === 'RUNNING') return { state: 'running', runId, ...fromMemo };
  if (status !== 'COMPLETED') return { state: 'closed', runId, status, ...fromMemo };

  const parsed = ResultSchema.safeParse(await client.workflow.getHandle(workflowId, runId).result());
  if (!parsed.success) return { state: 'closed', runId, status, ...fromMemo };
  const result = parsed.data;
  const commit = result.commit ?? fromMemo.commit;
  const specDigest = result.specDigest ?? fromMemo.specDigest;
  const reason = result.rollback?.reason ?? result.rejection?.message ?? result.summary;
  return {
    state: 'closed',
    runId,
    status,
    outcome: result.outcome,
    ...(commit !== undefined ? { commit } : {}),
    ...(specDigest !== undefined ? { specDigest } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}
