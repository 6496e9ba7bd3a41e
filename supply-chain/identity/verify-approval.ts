/**
 * Whether an approval proves who made it, for the rollout it is sent to: the verifier the
 * workflow's `approve` handlers await (through the `verifyApproval` activity) before they accept
 * a decision. Pure but for the key sets of remote OIDC issuers.
 *
 * Checks, first failure wins (each answer says which, and is audited):
 * 1. free text (no proof) is accepted only where the policy allows unsigned approvals;
 * 2. `replayed`: the same proof already decided something in this run;
 * 3. `wrong-scope`: the statement names another run, step, model, environment, commit or bundle;
 * 4. `expired`: past `expiresAt`, issued in the future, or meant to live longer than a day;
 * 5. the proof: a signature by the key the policy lists for the named approver, or an ID token
 *    of a trusted issuer, bound to the statement by its `nonce`, naming the same person.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { ApprovalRequest } from '../../domain/approval.ts';
import {
  type ApprovalScope,
  type ApprovalStatement,
  approvalDigestInput,
  scopeMismatches,
} from '../../domain/approval-statement.ts';
import type { EnvironmentPolicy } from '../policy/schema.ts';
import { nonceOf, proofFingerprint } from './fingerprint.ts';
import { claimText, verifyIdToken } from './oidc.ts';

/** What an environment trusts to prove identities: its policy's `identity` block and the files it names. */
export interface IdentityTrust {
  environment: string;
  identity: EnvironmentPolicy['identity'];
  /** PEM public keys by approver name. */
  approverKeys: Record<string, string>;
  /** JWKS text by issuer name, for issuers whose keys are a repository file. */
  jwksFiles: Record<string, string>;
}

export type ApprovalRefusalKind =
  | 'missing'
  | 'replayed'
  | 'wrong-scope'
  | 'expired'
  | 'forged'
  | 'unknown-approver'
  | 'untrusted-issuer'
  | 'malformed';

export type ApprovalVerdict =
  | {
      accepted: true;
      /** The approver's name as the policy (or, without one, the claim) has it. */
      approver: string;
      /** Every name the proof showed this person goes by (for four eyes). */
      identities: string[];
      method: 'signature' | 'oidc' | 'none';
      /** For `oidc`: the issuer's name in the policy. */
      issuer?: string;
      fingerprint?: string;
    }
  | { accepted: false; kind: ApprovalRefusalKind; reason: string; fingerprint?: string };

/** The longest an approval statement may be meant to live (`issuedAt` to `expiresAt`). */
export const MAX_STATEMENT_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** How far a signer's clock may run ahead of the worker's. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface VerifyApprovalInput {
  request: ApprovalRequest;
  scope: ApprovalScope;
  /** Fingerprints of the proofs this run has already taken. */
  usedProofs: readonly string[];
  now: Date;
}

function refuse(kind: ApprovalRefusalKind, reason: string, fingerprint?: string): ApprovalVerdict {
  return { accepted: false, kind, reason, ...(fingerprint === undefined ? {} : { fingerprint }) };
}

/** The policy's entry for `name`, matched without regard to case. */
function approverEntry(trust: IdentityTrust, name: string) {
  const key = Object.keys(trust.identity.approvers).find(
    (known) => known.toLowerCase() === name.toLowerCase(),
  );
  return key === undefined ? undefined : { name: key, entry: trust.identity.approvers[key] };
}

/** Verifies `input` against `trust`; see the module comment for the order of the checks. */
export async function verifyApproval(
  input: VerifyApprovalInput,
  trust: IdentityTrust,
): Promise<ApprovalVerdict> {
  const { request } = input;
  if (!request.signed) {
    if (trust.identity.unsignedApprovals === 'allow') {
      return { accepted: true, approver: request.approver, identities: [], method: 'none' };
    }
    return refuse(
      'missing',
      `an approval in ${trust.environment} must carry proof of who approves: sign it with \`modelship approve --key\`, or present an OIDC token of a trusted issuer (the policy refuses unsigned approvals)`,
    );
  }
  const { statement, proof } = request.signed;
  const fingerprint = proofFingerprint(proof.type === 'signature' ? proof.signature : proof.token);
  if (input.usedProofs.includes(fingerprint)) {
    return refuse('replayed', `this proof (${fingerprint}) was already used in this rollout`, fingerprint);
  }
  const mismatches = scopeMismatches(statement, input.scope);
  if (mismatches.length > 0) {
    return refuse(
      'wrong-scope',
      `the statement is for another rollout step: ${mismatches.join('; ')}`,
      fingerprint,
    );
  }
  const timing = timingProblem(statement, input.now);
  if (timing) return refuse('expired', timing, fingerprint);
  const verdict =
    proof.type === 'signature'
      ? verifySignature(statement, proof.signature, trust)
      : await verifyToken(statement, proof.token, trust, input.now);
  return { ...verdict, fingerprint };
}

function timingProblem(statement: ApprovalStatement, now: Date): string | undefined {
  const issued = Date.parse(statement.issuedAt);
  const expires = Date.parse(statement.expiresAt);
  if (expires <= now.getTime()) return `the statement expired at ${statement.expiresAt}`;
  if (issued > now.getTime() + CLOCK_SKEW_MS)
    return `the statement is issued in the future (${statement.issuedAt})`;
  if (expires - issued > MAX_STATEMENT_LIFETIME_MS) {
    return 'the statement is meant to live longer than a day: sign a new one with a shorter --expires';
  }
  return undefined;
}

function verifySignature(
  statement: ApprovalStatement,
  signature: string,
  trust: IdentityTrust,
): ApprovalVerdict {
  const found = approverEntry(trust, statement.approver);
  const pem = found ? trust.approverKeys[found.name] : undefined;
  if (!found || pem === undefined) {
    return refuse(
      'unknown-approver',
      `the policy of ${trust.environment} lists no public key for ${statement.approver} (identity.approvers.${statement.approver}.publicKey), so their signature proves nothing here`,
    );
  }
  const key = createPublicKey(pem);
  const algorithm =
    key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
  const bytes = Buffer.from(
    signature,
    signature.includes('-') || signature.includes('_') ? 'base64url' : 'base64',
  );
  let valid = false;
  try {
    valid = verify(algorithm, Buffer.from(approvalDigestInput(statement)), key, bytes);
  } catch {
    valid = false;
  }
  if (!valid) {
    return refuse(
      'forged',
      `the signature does not verify with ${found.name}'s public key: the statement was changed or signed by someone else`,
    );
  }
  return {
    accepted: true,
    approver: found.name,
    identities: found.entry?.identities ?? [],
    method: 'signature',
  };
}

async function verifyToken(
  statement: ApprovalStatement,
  token: string,
  trust: IdentityTrust,
  now: Date,
): Promise<ApprovalVerdict> {
  const check = await verifyIdToken(token, trust.identity, trust.jwksFiles, { now });
  if (!check.ok) {
    const kind = check.problem === 'wrong-audience' ? 'wrong-scope' : check.problem;
    return refuse(kind, check.reason);
  }
  const { issuer, issuerName, claims } = check;
  if (issuer.requireNonce) {
    const expected = nonceOf(approvalDigestInput(statement));
    if (claims.nonce !== expected) {
      return refuse(
        'wrong-scope',
        `the ${issuerName} token is not bound to this statement: its nonce claim must be ${expected} (\`modelship approve --print\` shows it)`,
      );
    }
  }
  const subject = claimText(claims, issuer.claim);
  if (subject === undefined) {
    return refuse(
      'malformed',
      `the ${issuerName} token has no "${issuer.claim}" claim to name the approver by`,
    );
  }
  const named = Object.entries(trust.identity.approvers).find(
    ([name, entry]) =>
      name.toLowerCase() === subject.toLowerCase() ||
      entry.identities.some((identity) => identity.toLowerCase() === subject.toLowerCase()),
  );
  const approver = named ? named[0] : subject;
  if (approver.toLowerCase() !== statement.approver.toLowerCase()) {
    return refuse(
      'forged',
      `the ${issuerName} token proves ${subject}${named ? ` (${approver})` : ''}, but the statement claims ${statement.approver}`,
    );
  }
  return {
    accepted: true,
    approver,
    identities: [subject, ...(named ? named[1].identities : [])],
    method: 'oidc',
    issuer: issuerName,
  };
}
