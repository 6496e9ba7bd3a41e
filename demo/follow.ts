/**
 * Following one DeployModel run to its end, the way a person watching it would: its stages and
 * verdicts as they happen (from the `status` query), and, when it waits for an approval, the
 * approval itself, sent through the `approve` update as a listed approver would send it.
 */
import { type Client, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { MEMO_DEPLOYMENT_KEY } from '../domain/deployment.ts';
import type { DeployModel, DeployModelResult } from '../workflows/deploy-model.ts';
import { approveUpdate, statusQuery } from '../workflows/messages.ts';
import type { DeploymentStatus } from '../workflows/status.ts';
import { Narrator } from './narrate.ts';

export interface Approval {
  /** Listed in the spec's approval step: the demo approves as this person. */
  approver: string;
  comment: string;
  /** Someone not listed, who tries first and is refused by the update's validator. */
  outsider?: string;
}

export interface FollowOptions {
  client: Client;
  workflowId: string;
  /** The commit the run was started for, to be sure to follow that run and not an older one. */
  commit: string;
  /** Prefix of every line, e.g. `iris v2`. */
  label: string;
  say: (line: string) => void;
  approval?: Approval;
  pollMs?: number;
  /** Aborted when the demo stops early (Ctrl-C): following ends with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Waits for the run to close, telling what it does; returns its result. Polls with short calls
 * only (query, describe), never a long poll, so that an abort leaves nothing in flight.
 */
export async function followRun(options: FollowOptions): Promise<DeployModelResult> {
  const { say, label, signal } = options;
  const handle = await runFor(options);
  const narrator = new Narrator();
  const tell = (status: DeploymentStatus | undefined) => {
    for (const line of status ? narrator.next(status) : []) say(`${label}: ${line}`);
  };
  let approved = false;
  for (;;) {
    signal?.throwIfAborted();
    const status = await handle.query(statusQuery).catch(() => undefined);
    tell(status);
    if (status?.stage === 'awaiting-approval' && !approved && options.approval) {
      await approve(handle, options.approval, (line) => say(`${label}: ${line}`));
      approved = true;
    }
    if ((await handle.describe()).status.name !== 'RUNNING') break;
    await sleep(options.pollMs ?? 200);
  }
  // What happened between the last poll and the end (a closed run still answers queries).
  tell(await handle.query(statusQuery).catch(() => undefined));
  return handle.result();
}

/** The run of `workflowId` started for `commit` (apply has just started it). */
async function runFor(options: FollowOptions): Promise<WorkflowHandle<typeof DeployModel>> {
  const description = await options.client.workflow.getHandle(options.workflowId).describe();
  // The memo, not a query: it is there from the start, before the worker has run the workflow.
  const commit = (description.memo?.[MEMO_DEPLOYMENT_KEY] as { commit?: unknown } | undefined)?.commit;
  if (commit !== options.commit) {
    throw new Error(
      `the latest run of ${options.workflowId} is for ${String(commit)}, not ${options.commit}`,
    );
  }
  return options.client.workflow.getHandle<typeof DeployModel>(options.workflowId, description.runId);
}

async function approve(
  handle: WorkflowHandle<typeof DeployModel>,
  approval: Approval,
  say: (line: string) => void,
): Promise<void> {
  if (approval.outsider) {
    const refused = await handle
      .executeUpdate(approveUpdate, { args: [{ approver: approval.outsider, decision: 'approve' }] })
      .then(() => undefined)
      .catch((error: unknown) => error);
    if (!(refused instanceof WorkflowUpdateFailedError)) {
      throw new Error(`an approval by ${approval.outsider}, who is not listed, was not refused`);
    }
    say(`${approval.outsider} tries to approve and is refused: ${refused.cause?.message ?? refused.message}`);
  }
  say(`approving as ${approval.approver}, a listed approver ("${approval.comment}")`);
  const receipt = await handle.executeUpdate(approveUpdate, {
    args: [{ approver: approval.approver, decision: 'approve', comment: approval.comment }],
  });
  say(`approval accepted for step ${receipt.stepIndex + 1}; the rollout goes on`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
