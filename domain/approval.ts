/**
 * Who may approve a rollout step: the message an approver sends and the pure rule that decides
 * whether they may, shared by the workflow's `approve` handlers, the CLI that sends it and the
 * environment policy that `plan` judges (four eyes).
 */
import { parseSignedApproval, type SignedApproval } from './approval-statement.ts';
import type { CommitAuthor } from './deployment.ts';

/** What `modelship approve` (or any client) sends, as the update's or the signal's one argument. */
export interface ApproveInput {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string;
}

/**
 * An approval as received: the decision, and the signed statement it came in when it came with
 * proof. Free text (`{approver, decision}`) has no `signed`; whether it is accepted is the
 * environment policy's choice (`identity.unsignedApprovals`).
 */
export interface ApprovalRequest extends ApproveInput {
  signed?: SignedApproval;
}

/**
 * A deployment's origin as the worker verified it from an OIDC token (`apply` in GitHub Actions
 * presents the job's token): who started it, from which repository, ref and workflow.
 */
export interface VerifiedOrigin {
  /** The trusted issuer's name in the policy, and its `iss`. */
  issuerName: string;
  issuer: string;
  /** Who started the deployment (the token's actor claim). */
  actor: string;
  /** Further people behind the change the token names (e.g. who triggered the job), never empty strings. */
  alsoBy: string[];
  repository?: string;
  ref?: string;
  sha?: string;
  workflow?: string;
  /** SHA-256 (hex, first 16 characters) of the token, for the audit log. */
  fingerprint: string;
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

/** Whether one of the approver's names is the commit's author (by name, email or its local part). */
function sameIdentity(names: readonly string[], author: CommitAuthor): boolean {
  const email = author.email.toLowerCase();
  return names.some((name) => {
    const who = name.trim().toLowerCase();
    return (
      who === author.name.trim().toLowerCase() ||
      who === email ||
      (email.includes('@') && who === email.split('@')[0])
    );
  });
}

/** Whether one of the approver's names is a person the verified origin names. */
function startedIt(names: readonly string[], origin: VerifiedOrigin): boolean {
  const people = [origin.actor, ...origin.alsoBy].map((who) => who.trim().toLowerCase());
  return names.some((name) => people.includes(name.trim().toLowerCase()));
}

/**
 * Parses an untrusted message into an {@link ApprovalRequest}, or says what is wrong with it:
 * free text `{approver, decision, comment?}`, or a signed `{statement, proof}`.
 */
export function parseApproveInput(value: unknown): ApprovalRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected one JSON object such as ${EXAMPLE}, or the output of \`modelship approve --print\`, got ${describeValue(value)}`;
  }
  const record = value as Record<string, unknown>;
  if ('statement' in record || 'proof' in record) {
    const signed = parseSignedApproval(record);
    if (typeof signed === 'string') return signed;
    const { approver, decision, comment } = signed.statement;
    return { approver, decision, ...(comment === undefined ? {} : { comment }), signed };
  }
  const { approver, decision, comment } = record;
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
 * Why `input` may not decide `pending`, or undefined when it may. Under four eyes neither the
 * author of the commit being rolled out nor the person the verified origin names (who ran
 * `apply`) can approve it, under any of the approver's verified identities; rejecting their own
 * change is fine. Four eyes is the environment policy's `rollout.fourEyes`, and without a policy
 * it holds in production only.
 */
export function approvalProblem(
  input: ApproveInput,
  pending: PendingApproval | undefined,
  context: {
    environment: string;
    author?: CommitAuthor | undefined;
    fourEyes?: boolean | undefined;
    origin?: VerifiedOrigin | undefined;
    /** Further names the verifier proved the approver goes by (emails, logins). */
    identities?: readonly string[] | undefined;
  },
): string | undefined {
  if (!pending) return 'no approval is pending for this rollout right now';
  const listed = pending.approvers.some((name) => name.toLowerCase() === input.approver.toLowerCase());
  if (!listed)
    return `${input.approver} is not an approver of this step (approvers: ${pending.approvers.join(', ')})`;
  const fourEyes = context.fourEyes ?? context.environment === 'production';
  if (!fourEyes || input.decision !== 'approve') return undefined;
  const names = [input.approver, ...(context.identities ?? [])];
  if (context.author && sameIdentity(names, context.author)) {
    return `in ${context.environment} the commit's author (${context.author.name} <${context.author.email}>) cannot approve their own change`;
  }
  if (context.origin && startedIt(names, context.origin)) {
    return `in ${context.environment} ${context.origin.actor}, who started this deployment (verified by ${context.origin.issuerName}), cannot approve it`;
  }
  return undefined;
}
