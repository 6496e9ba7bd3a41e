/**
 * Who may approve a rollout step: the message an approver sends and the pure rule that decides
 * whether they may, shared by the workflow's `approve` handlers, the CLI that sends it and the
 * environment policy that `plan` judges (four eyes).
 */
import type { CommitAuthor } from './deployment.ts';

/** What `modelship approve` (or any client) sends, as the update's or the signal's one argument. */
export interface ApproveInput {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string;
}

/** The approval step the rollout is waiting on. */
export interface PendingApproval {
  stepIndex: number;
  approvers: string[];
  description?: string;
}

const MAX_COMMENT = 2000;

/** The input an approver pastes, e.g. into the Web UI's "Send an Update" dialog. */
const EXAMPLE = '{"approver":"alice","decision":"approve"}';

function describeValue(value: unknown): string {
  if (value === undefined) return 'no input';
  if (value === null) return 'null';
  if (value === '') return 'an empty string';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function sameIdentity(approver: string, author: CommitAuthor): boolean {
  const who = approver.trim().toLowerCase();
  const email = author.email.toLowerCase();
  return (
    who === author.name.trim().toLowerCase() ||
    who === email ||
    (email.includes('@') && who === email.split('@')[0])
  );
}

/** Parses an untrusted message into an {@link ApproveInput}, or says what is wrong with it. */
export function parseApproveInput(value: unknown): ApproveInput | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected one JSON object such as ${EXAMPLE}, got ${describeValue(value)}`;
  }
  const { approver, decision, comment } = value as Record<string, unknown>;
  if (typeof approver !== 'string' || approver.trim() === '') {
    return `approver: must name who approves, as in ${EXAMPLE}`;
  }
  if (decision !== 'approve' && decision !== 'reject') {
    return `decision: must be "approve" or "reject", as in ${EXAMPLE}`;
  }
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) {
    return `comment: must be text of at most ${MAX_COMMENT} characters`;
  }
  return { approver: approver.trim(), decision, ...(typeof comment === 'string' ? { comment } : {}) };
}

/**
 * Why `input` may not decide `pending`, or undefined when it may. Under four eyes the author of
 * the commit being rolled out cannot approve it; rejecting their own change is fine. Four eyes is
 * the environment policy's `rollout.fourEyes`, and without a policy it holds in production only.
 */
export function approvalProblem(
  input: ApproveInput,
  pending: PendingApproval | undefined,
  context: { environment: string; author?: CommitAuthor | undefined; fourEyes?: boolean | undefined },
): string | undefined {
  if (!pending) return 'no approval is pending for this rollout right now';
  const listed = pending.approvers.some((name) => name.toLowerCase() === input.approver.toLowerCase());
  if (!listed)
    return `${input.approver} is not an approver of this step (approvers: ${pending.approvers.join(', ')})`;
  const fourEyes = context.fourEyes ?? context.environment === 'production';
  if (
    fourEyes &&
    input.decision === 'approve' &&
    context.author &&
    sameIdentity(input.approver, context.author)
  ) {
    return `in ${context.environment} the commit's author (${context.author.name} <${context.author.email}>) cannot approve their own change`;
  }
  return undefined;
}
