/**
 * The approver's side of a signed approval: the statement for the step a rollout waits on, and
 * the signature over its canonical JSON that `verify-approval.ts` checks against the public key
 * the policy lists for the approver. Keys are those `modelship keygen` makes (ECDSA P-256); an
 * Ed25519 key works as well.
 */
import { randomBytes, sign } from 'node:crypto';
import {
  APPROVAL_STATEMENT_TYPE,
  type ApprovalScope,
  type ApprovalStatement,
  approvalDigestInput,
} from '../../domain/approval-statement.ts';
import { loadPrivateKey } from '../signing/keys.ts';
import { nonceOf } from './fingerprint.ts';
import { MAX_STATEMENT_LIFETIME_MS } from './verify-approval.ts';

/** How long a statement stays valid unless the approver says otherwise. */
export const DEFAULT_STATEMENT_LIFETIME_MS = 15 * 60 * 1000;

export interface NewStatementInput {
  scope: ApprovalScope;
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string | undefined;
  now: Date;
  lifetimeMs?: number;
}

/** A fresh statement for `scope`, valid from `now` for `lifetimeMs` (at most a day). */
export function newApprovalStatement(input: NewStatementInput): ApprovalStatement {
  const lifetime = input.lifetimeMs ?? DEFAULT_STATEMENT_LIFETIME_MS;
  if (!(lifetime > 0 && lifetime <= MAX_STATEMENT_LIFETIME_MS)) {
    throw new RangeError('an approval statement lives between a moment and a day');
  }
  return {
    type: APPROVAL_STATEMENT_TYPE,
    ...input.scope,
    approver: input.approver,
    decision: input.decision,
    ...(input.comment ? { comment: input.comment } : {}),
    issuedAt: input.now.toISOString(),
    expiresAt: new Date(input.now.getTime() + lifetime).toISOString(),
    nonce: randomBytes(16).toString('hex'),
  };
}

/** The base64 signature of `statement` by the PEM private key `privateKeyPem`. */
export function signApproval(statement: ApprovalStatement, privateKeyPem: string, source?: string): string {
  const key = loadPrivateKey(privateKeyPem, source);
  const algorithm =
    key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
  return sign(algorithm, Buffer.from(approvalDigestInput(statement)), key).toString('base64');
}

/** The `nonce` an OIDC token must carry to speak for `statement` (ask the identity provider for it). */
export function tokenNonceFor(statement: ApprovalStatement): string {
  return nonceOf(approvalDigestInput(statement));
}
