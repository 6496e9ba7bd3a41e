/**
 * The messages DeployModel answers, defined once for the workflow and its clients (the CLI's
 * `approve` and `status`, tests): the `status` query, the `approve` update and its signal twin.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApproveInput } from '../domain/approval.ts';
import type { SignedApproval } from '../domain/approval-statement.ts';
import type { MonitorStatus } from './monitor-status.ts';
import type { DeploymentStatus } from './status.ts';

/** What an accepted `approve` update returns to the caller. */
export interface ApprovalReceipt {
  approver: string;
  decision: ApproveInput['decision'];
  /** Index of the rollout step the decision applies to. */
  stepIndex: number;
}

export const statusQuery = defineQuery<DeploymentStatus>('status');

/** Approve or reject the pending approval step; the validator refuses anyone not allowed. */
/** What the `approve` update and signal take: free text, or a signed approval (`modelship approve --print`). */
export type ApproveMessage = ApproveInput | SignedApproval;

export const approveUpdate = defineUpdate<ApprovalReceipt, [ApproveMessage]>('approve');

/** The same as {@link approveUpdate}, for clients that cannot send updates; refusals are audited. */
export const approveSignal = defineSignal<[ApproveMessage]>('approve');

/** Where a model's monitor stands: its checks, its findings and the actions it took. */
export const monitorStatusQuery = defineQuery<MonitorStatus>('monitorStatus');
