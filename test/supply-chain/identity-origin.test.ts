/**
 * The origin verifier (`supply-chain/identity/verify-origin.ts`): a GitHub-Actions-shaped token
 * from a local issuer, verified against the policy, tied to the commit and the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityTrust } from '../../supply-chain/identity/verify-approval.ts';
import { verifyOrigin } from '../../supply-chain/identity/verify-origin.ts';
import { parsePolicy } from '../../supply-chain/policy/load.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';

const commit = 'c0ffee00'.repeat(5);
let issuer: TestIssuer;

function trustOf(environment: string, identity: string): IdentityTrust {
  const parsed = parsePolicy(
    `apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: ${environment} }\n${identity}`,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return { environment, identity: parsed.policy.identity, approverKeys: {}, jwksFiles: {} };
}

const github = () => `identity:
  issuers:
    github-actions: { issuer: "${issuer.issuer}", audience: modelship, jwks: "${issuer.jwksUrl}", claim: actor, requireNonce: false }
  origin: { repositories: [acme/models] }
`;
const claims = (extra: Record<string, string> = {}) => ({
  actor: 'dana',
  repository: 'acme/models',
  ref: 'refs/heads/main',
  sha: commit,
  workflow_ref: 'acme/models/.github/workflows/apply.yml@refs/heads/main',
  ...extra,
});

beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(() => issuer?.close());

describe('a deployment origin', () => {
  it('is required in production by default: no token, no deployment, and the reason says how to get one', async () => {
    const verdict = await verifyOrigin({ commit, now: new Date() }, trustOf('production', ''));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('id-token: write');
    expect(await verifyOrigin({ commit, now: new Date() }, trustOf('staging', ''))).toEqual({
      ok: true,
      origin: null,
    });
  });

  it("is the token's actor, repository, ref and workflow when the token verifies", async () => {
    const token = await issuer.issue(claims({ triggering_actor: 'erin' }));
    const verdict = await verifyOrigin({ token, commit, now: new Date() }, trustOf('production', github()));
    expect(verdict).toMatchObject({
      ok: true,
      origin: {
        issuerName: 'github-actions',
        actor: 'dana',
        alsoBy: ['erin'],
        repository: 'acme/models',
        ref: 'refs/heads/main',
        sha: commit,
      },
    });
  });

  it('is refused for another commit, another repository, a forged signature or a wrong audience', async () => {
    const trust = trustOf('production', github());
    const refusals = [
      [await issuer.issue(claims({ sha: 'd'.repeat(40) })), 'vouches for commit dddddddddddd'],
      [await issuer.issue(claims({ repository: 'eve/models' })), 'from repository eve/models'],
      [await issuer.rogue(claims()), "does not verify with github-actions's keys"],
      [await issuer.issue(claims(), { audience: 'other' }), 'another audience'],
    ] as const;
    for (const [token, reason] of refusals) {
      const verdict = await verifyOrigin({ token, commit, now: new Date() }, trust);
      expect(verdict.ok).toBe(false);
      expect(!verdict.ok && verdict.reason).toContain(reason);
    }
  });

  it('is refused when a token is presented but invalid, even where no origin is required', async () => {
    const verdict = await verifyOrigin(
      { token: await issuer.rogue(claims()), commit, now: new Date() },
      trustOf('staging', github()),
    );
    expect(verdict.ok).toBe(false);
  });
});
