/**
 * A signed approval: a statement naming exactly which rollout step it decides, and a proof of
 * who made it. The CLI writes it (`modelship approve --key`, `--print` for the Web UI), the
 * workflow's `approve` handlers receive it, the worker's verifier (`supply-chain/identity/`)
 * checks it. No imports but the canonical JSON: the workflow bundle reads this file.
 *
 * The statement binds every fact an approver looked at (run, step, model, environment, commit,
 * bundle digest), so a statement signed for one rollout cannot decide another, and it expires.
 * The proof covers the statement's canonical JSON (`domain/canonical-json.ts`):
 * - `signature`: the approver's private key signed those bytes; the policy maps the approver's
 *   name to the public key;
 * - `oidc`: an ID token from an issuer the policy trusts whose `nonce` claim is the statement's
 *   digest ({@link approvalDigestInput}), so the token speaks for this statement only.
 */
import { canonicalJson } from './canonical-json.ts';

/** The statement's `type`, versioned so a later format can be told apart. */
export const APPROVAL_STATEMENT_TYPE = 'modelship.dev/approval/v1';

/** What an approval decides: one step of one run of one deployment, at one commit and bundle. */
export interface ApprovalScope {
  workflowId: string;
  runId: string;
  /** The approval step, counted from 1 as the spec and the Web UI count. */
  step: number;
  model: string;
  environment: string;
  commit: string;
  /** sha256 of the bundle the rollout is shipping. */
  bundleDigest: string;
}

export interface ApprovalStatement extends ApprovalScope {
  type: typeof APPROVAL_STATEMENT_TYPE;
  /** Who claims to approve; the proof must identify the same person. */
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string;
  /** ISO 8601 times; the statement is refused after `expiresAt`. */
  issuedAt: string;
  expiresAt: string;
  /** Random text that makes two statements with the same facts different. */
  nonce: string;
}

/** The proof of who made a statement. */
export type ApprovalProof = { type: 'signature'; signature: string } | { type: 'oidc'; token: string };

/** A statement with its proof: what `modelship approve --print` prints and the Web UI takes. */
export interface SignedApproval {
  statement: ApprovalStatement;
  proof: ApprovalProof;
}

/** The facts of the scope, in the order people read them in a refusal. */
export const SCOPE_FIELDS = [
  'workflowId',
  'runId',
  'step',
  'model',
  'environment',
  'commit',
  'bundleDigest',
] as const satisfies readonly (keyof ApprovalScope)[];

/** The bytes a signature covers and whose SHA-256 an OIDC token's nonce carries. */
export function approvalDigestInput(statement: ApprovalStatement): string {
  return canonicalJson(statement);
}

/** Where a statement differs from the rollout it is sent to, one line per fact; empty when it matches. */
export function scopeMismatches(statement: ApprovalScope, scope: ApprovalScope): string[] {
  const differences: string[] = [];
  for (const field of SCOPE_FIELDS) {
    if (statement[field] !== scope[field]) {
      differences.push(
        `${field} is ${JSON.stringify(statement[field])}, this rollout's is ${JSON.stringify(scope[field])}`,
      );
    }
  }
  return differences;
}

const MAX_TEXT = 256;
const MAX_PROOF = 16_384;
const MAX_COMMENT = 2000;

function text(record: Record<string, unknown>, field: string, max = MAX_TEXT): string | undefined {
  const value = record[field];
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined;
}

function isTime(value: string | undefined): value is string {
  return value !== undefined && /^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(Date.parse(value));
}

/**
 * Parses an untrusted `{statement, proof}` into a {@link SignedApproval}, or says which field is
 * wrong. Checks the shape only; whether the proof holds is the verifier's question.
 */
export function parseSignedApproval(value: Record<string, unknown>): SignedApproval | string {
  const { statement, proof } = value;
  if (typeof statement !== 'object' || statement === null || Array.isArray(statement)) {
    return 'statement: must be the JSON object `modelship approve --print` prints';
  }
  const s = statement as Record<string, unknown>;
  if (s.type !== APPROVAL_STATEMENT_TYPE) return `statement.type: must be "${APPROVAL_STATEMENT_TYPE}"`;
  const fields: Partial<Record<string, string>> = {};
  for (const field of [
    'workflowId',
    'runId',
    'model',
    'environment',
    'commit',
    'bundleDigest',
    'approver',
    'nonce',
  ]) {
    const found = text(s, field);
    if (found === undefined) return `statement.${field}: must be text of 1 to ${MAX_TEXT} characters`;
    fields[field] = found;
  }
  if (typeof s.step !== 'number' || !Number.isInteger(s.step) || s.step < 1 || s.step > 10_000) {
    return 'statement.step: must be the approval step number, counted from 1';
  }
  if (s.decision !== 'approve' && s.decision !== 'reject')
    return 'statement.decision: must be "approve" or "reject"';
  if (s.comment !== undefined && text(s, 'comment', MAX_COMMENT) === undefined) {
    return `statement.comment: must be text of at most ${MAX_COMMENT} characters`;
  }
  const issuedAt = text(s, 'issuedAt');
  const expiresAt = text(s, 'expiresAt');
  if (!isTime(issuedAt)) return 'statement.issuedAt: must be an ISO 8601 time';
  if (!isTime(expiresAt)) return 'statement.expiresAt: must be an ISO 8601 time';
  const known = new Set([
    'type',
    'step',
    'decision',
    'comment',
    'issuedAt',
    'expiresAt',
    ...Object.keys(fields),
  ]);
  const unknown = Object.keys(s).find((key) => !known.has(key));
  // An unknown field would be signed but never checked: refuse it rather than trust it silently.
  if (unknown !== undefined) return `statement.${unknown}: is not a field of an approval statement`;

  if (typeof proof !== 'object' || proof === null || Array.isArray(proof)) {
    return 'proof: must be {"type":"signature","signature":"…"} or {"type":"oidc","token":"…"}';
  }
  const p = proof as Record<string, unknown>;
  let parsedProof: ApprovalProof;
  if (p.type === 'signature') {
    const signature = text(p, 'signature', MAX_PROOF);
    if (signature === undefined || !/^[A-Za-z0-9+/=_-]+$/.test(signature)) {
      return 'proof.signature: must be the base64 signature `modelship approve --key` made';
    }
    parsedProof = { type: 'signature', signature };
  } else if (p.type === 'oidc') {
    const token = text(p, 'token', MAX_PROOF);
    if (token === undefined || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
      return 'proof.token: must be an OIDC ID token (a JWT: three base64url parts joined by ".")';
    }
    parsedProof = { type: 'oidc', token };
  } else {
    return 'proof.type: must be "signature" or "oidc"';
  }
  const parsed: ApprovalStatement = {
    type: APPROVAL_STATEMENT_TYPE,
    workflowId: fields.workflowId as string,
    runId: fields.runId as string,
    step: s.step,
    model: fields.model as string,
    environment: fields.environment as string,
    commit: fields.commit as string,
    bundleDigest: fields.bundleDigest as string,
    approver: fields.approver as string,
    decision: s.decision,
    ...(typeof s.comment === 'string' ? { comment: s.comment } : {}),
    issuedAt,
    expiresAt,
    nonce: fields.nonce as string,
  };
  return { statement: parsed, proof: parsedProof };
}
