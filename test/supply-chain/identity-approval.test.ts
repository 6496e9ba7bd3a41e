/**
 * The approval verifier (`supply-chain/identity/verify-approval.ts`) against real keys: ECDSA
 * pairs as `modelship keygen` makes them, and ID tokens from a local issuer whose JWKS is fetched
 * over HTTP. Each class of bad proof is refused with its own kind and a reason naming the fault.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approval.ts';
import { parseApproveInput } from '../../domain/approval.ts';
import type { ApprovalScope, ApprovalStatement, SignedApproval } from '../../domain/approval-statement.ts';
import {
  newApprovalStatement,
  signApproval,
  tokenNonceFor,
} from '../../supply-chain/identity/sign-approval.ts';
import { type IdentityTrust, verifyApproval } from '../../supply-chain/identity/verify-approval.ts';
import { parsePolicy } from '../../supply-chain/policy/load.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';

const scope: ApprovalScope = {
  workflowId: 'deploy/production/iris',
  runId: 'run-1',
  step: 2,
  model: 'iris',
  environment: 'production',
  commit: 'c0ffee00'.repeat(5),
  bundleDigest: 'b'.repeat(64),
};
const alice = generateSigningKeyPair();
const mallory = generateSigningKeyPair();
let issuer: TestIssuer;
let trust: IdentityTrust;

function policyTrust(yaml: string, extra: Partial<IdentityTrust> = {}): IdentityTrust {
  const parsed = parsePolicy(
    `apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: production }\n${yaml}`,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return {
    environment: 'production',
    identity: parsed.policy.identity,
    approverKeys: {},
    jwksFiles: {},
    ...extra,
  };
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  trust = policyTrust(
    `identity:
  issuers:
    sso: { issuer: "${issuer.issuer}", audience: modelship, jwks: "${issuer.jwksUrl}", claim: email }
  approvers:
    alice: { publicKey: keys/alice.pub, identities: [alice@example.com, alice-gh] }
    bob: { identities: [bob@example.com] }
`,
    { approverKeys: { alice: alice.publicKeyPem } },
  );
});
afterAll(() => issuer?.close());

function statement(overrides: Partial<ApprovalStatement> = {}, now = new Date()): ApprovalStatement {
  return { ...newApprovalStatement({ scope, approver: 'alice', decision: 'approve', now }), ...overrides };
}

function signed(body: ApprovalStatement, pem = alice.privateKeyPem): ApprovalRequest {
  const approval: SignedApproval = {
    statement: body,
    proof: { type: 'signature', signature: signApproval(body, pem) },
  };
  const parsed = parseApproveInput(JSON.parse(JSON.stringify(approval)));
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

async function withToken(body: ApprovalStatement, token: string): Promise<ApprovalRequest> {
  const parsed = parseApproveInput({ statement: body, proof: { type: 'oidc', token } });
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

const verify = (
  request: ApprovalRequest,
  options: { used?: string[]; trust?: IdentityTrust; now?: Date } = {},
) =>
  verifyApproval(
    { request, scope, usedProofs: options.used ?? [], now: options.now ?? new Date() },
    options.trust ?? trust,
  );

describe('a signed approval statement', () => {
  it("is accepted when the approver's listed key signed exactly this step, and names them as the policy does", async () => {
    const verdict = await verify(signed(statement({ approver: 'Alice' })));
    expect(verdict).toMatchObject({ accepted: true, approver: 'alice', method: 'signature' });
    expect(verdict.accepted && verdict.identities).toEqual(['alice@example.com', 'alice-gh']);
    expect(verdict.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is refused as forged when a signed field was changed afterwards, or someone else signed it', async () => {
    const good = signed(statement());
    const original = good.signed;
    if (!original) throw new Error('signed() returns a signed approval');
    const flipped = {
      ...good,
      signed: { ...original, statement: { ...original.statement, decision: 'reject' as const } },
    };
    expect(await verify(flipped)).toMatchObject({ accepted: false, kind: 'forged' });
    const byMallory = await verify(signed(statement(), mallory.privateKeyPem));
    expect(byMallory).toMatchObject({ accepted: false, kind: 'forged' });
    expect(!byMallory.accepted && byMallory.reason).toContain("alice's public key");
  });

  it('is refused for an approver without a listed key', async () => {
    const verdict = await verify(signed(statement({ approver: 'bob' }), mallory.privateKeyPem));
    expect(verdict).toMatchObject({ accepted: false, kind: 'unknown-approver' });
  });

  it('is refused when it names another run, step, commit or bundle, saying which', async () => {
    for (const [field, value] of [
      ['runId', 'run-0'],
      ['step', 1],
      ['commit', 'd'.repeat(40)],
      ['bundleDigest', 'e'.repeat(64)],
      ['environment', 'staging'],
    ] as const) {
      const verdict = await verify(signed(statement({ [field]: value })));
      expect(verdict).toMatchObject({ accepted: false, kind: 'wrong-scope' });
      expect(!verdict.accepted && verdict.reason).toContain(`${field} is ${JSON.stringify(value)}`);
    }
  });

  it('is refused once expired, when issued in the future, or when meant to live longer than a day', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    expect(await verify(signed(statement({}, hourAgo)))).toMatchObject({ kind: 'expired' });
    const later = new Date(Date.now() + 3_600_000);
    expect(await verify(signed(statement({}, later)))).toMatchObject({ kind: 'expired' });
    const long = statement({ expiresAt: new Date(Date.now() + 2 * 86_400_000).toISOString() });
    expect(await verify(signed(long))).toMatchObject({ kind: 'expired' });
  });

  it('is refused as replayed when its proof already decided something in this run', async () => {
    const request = signed(statement());
    const first = await verify(request);
    expect(first.accepted).toBe(true);
    expect(await verify(request, { used: [String(first.fingerprint)] })).toMatchObject({ kind: 'replayed' });
  });
});

describe('free text', () => {
  it('is refused as missing proof where the policy refuses unsigned approvals, production by default', async () => {
    const request = parseApproveInput({ approver: 'alice', decision: 'approve' }) as ApprovalRequest;
    expect(await verify(request, { trust: policyTrust('') })).toMatchObject({
      accepted: false,
      kind: 'missing',
    });
  });

  it('is accepted as claimed where the policy allows it', async () => {
    const request = parseApproveInput({ approver: 'alice', decision: 'approve' }) as ApprovalRequest;
    const open = policyTrust('identity: { unsignedApprovals: allow }');
    expect(await verify(request, { trust: open })).toMatchObject({
      accepted: true,
      method: 'none',
      approver: 'alice',
    });
  });
});

describe('an OIDC ID token', () => {
  it('is accepted from a trusted issuer, bound to the statement by its nonce, for the person it names', async () => {
    const body = statement();
    const token = await issuer.issue({ email: 'alice@example.com', nonce: tokenNonceFor(body) });
    const verdict = await verify(await withToken(body, token));
    expect(verdict).toMatchObject({ accepted: true, approver: 'alice', method: 'oidc', issuer: 'sso' });
  });

  it('is refused when not bound to this statement', async () => {
    const body = statement();
    const token = await issuer.issue({ email: 'alice@example.com', nonce: tokenNonceFor(statement()) });
    const verdict = await verify(await withToken(body, token));
    expect(verdict).toMatchObject({ accepted: false, kind: 'wrong-scope' });
    expect(!verdict.accepted && verdict.reason).toContain('not bound to this statement');
  });

  it('is refused when it proves someone other than the claimed approver', async () => {
    const body = statement();
    const token = await issuer.issue({ email: 'bob@example.com', nonce: tokenNonceFor(body) });
    const verdict = await verify(await withToken(body, token));
    expect(verdict).toMatchObject({ accepted: false, kind: 'forged' });
    expect(!verdict.accepted && verdict.reason).toContain(
      'proves bob@example.com (bob), but the statement claims alice',
    );
  });

  it('is refused as forged when signed by a key the issuer never published', async () => {
    const body = statement();
    const token = await issuer.rogue({ email: 'alice@example.com', nonce: tokenNonceFor(body) });
    expect(await verify(await withToken(body, token))).toMatchObject({ accepted: false, kind: 'forged' });
  });

  it('is refused when expired, for another audience, or from an issuer nobody trusts', async () => {
    const body = statement();
    const nonce = tokenNonceFor(body);
    const past = Math.floor(Date.now() / 1000) - 600;
    const expired = await issuer.issue(
      { email: 'alice@example.com', nonce },
      { iat: past, expiresIn: past + 60 },
    );
    expect(await verify(await withToken(body, expired))).toMatchObject({ kind: 'expired' });
    const elsewhere = await issuer.issue({ email: 'alice@example.com', nonce }, { audience: 'another-app' });
    expect(await verify(await withToken(body, elsewhere))).toMatchObject({ kind: 'wrong-scope' });
    const stranger = await startTestIssuer();
    try {
      const token = await stranger.issue({ email: 'alice@example.com', nonce });
      expect(await verify(await withToken(body, token))).toMatchObject({ kind: 'untrusted-issuer' });
    } finally {
      await stranger.close();
    }
  });

  it('from an issuer exempt from the nonce, is accepted fresh and refused when older than maxTokenAge', async () => {
    const exempt = policyTrust(
      `identity:
  issuers:
    ci: { issuer: "${issuer.issuer}", audience: modelship, jwks: keys/ci.jwks, claim: actor, requireNonce: false, maxTokenAge: 5m }
  approvers:
    alice: { identities: [alice-gh] }
`,
      { jwksFiles: { ci: issuer.jwksText } },
    );
    const body = statement();
    const fresh = await issuer.issue({ actor: 'alice-gh' });
    expect(await verify(await withToken(body, fresh), { trust: exempt })).toMatchObject({
      accepted: true,
      approver: 'alice',
    });
    const old = await issuer.issue(
      { actor: 'alice-gh' },
      { iat: Math.floor(Date.now() / 1000) - 900, expiresIn: '1h' },
    );
    expect(await verify(await withToken(body, old), { trust: exempt })).toMatchObject({ kind: 'expired' });
  });
});
