/**
 * Who started a deployment, proven: `apply` presents an OIDC token (in GitHub Actions the job's
 * own, which names the repository, ref, commit, workflow and the actor who triggered it), and the
 * worker verifies it against the issuers the environment's policy trusts for origins. Four eyes
 * then compares approvers with this verified actor, not only with the commit's self-declared
 * author. Where the policy requires an origin (production by default), none means no deployment.
 *
 * A token is tied to what it vouches for: its `sha` claim, when it has one, must be the commit
 * being deployed, and its `repository` one of the policy's repositories when it lists them.
 */
import type { VerifiedOrigin } from '../../domain/approval.ts';
import { proofFingerprint } from './fingerprint.ts';
import { claimText, verifyIdToken } from './oidc.ts';
import type { IdentityTrust } from './verify-approval.ts';

export type OriginVerdict = { ok: true; origin: VerifiedOrigin | null } | { ok: false; reason: string };

export interface VerifyOriginInput {
  /** The OIDC token `apply` presented, if any. */
  token?: string | undefined;
  /** The commit being deployed. */
  commit: string;
  now: Date;
}

/** Verifies a deployment's origin token; see the module comment for what is checked. */
export async function verifyOrigin(input: VerifyOriginInput, trust: IdentityTrust): Promise<OriginVerdict> {
  const { origin } = trust.identity;
  if (input.token === undefined || input.token === '') {
    if (!origin.required) return { ok: true, origin: null };
    return {
      ok: false,
      reason: `${trust.environment} accepts only deployments with an authenticated origin: run \`modelship apply\` in GitHub Actions with \`permissions: id-token: write\`, or give it a token of a trusted issuer in MODELSHIP_ORIGIN_TOKEN`,
    };
  }
  const issuers = origin.issuers ?? Object.keys(trust.identity.issuers);
  const check = await verifyIdToken(input.token, trust.identity, trust.jwksFiles, {
    now: input.now,
    only: issuers,
  });
  if (!check.ok) return { ok: false, reason: `the origin token is refused: ${check.reason}` };
  const { claims, issuer, issuerName } = check;
  const actor = claimText(claims, issuer.claim);
  if (actor === undefined) {
    return {
      ok: false,
      reason: `the origin token has no "${issuer.claim}" claim naming who started the deployment`,
    };
  }
  const sha = claimText(claims, 'sha');
  if (sha !== undefined && sha.toLowerCase() !== input.commit.toLowerCase()) {
    return {
      ok: false,
      reason: `the origin token vouches for commit ${sha.slice(0, 12)}, not for ${input.commit.slice(0, 12)} which this deployment is of`,
    };
  }
  const repository = claimText(claims, 'repository');
  if (
    origin.repositories &&
    !origin.repositories.some((allowed) => allowed.toLowerCase() === repository?.toLowerCase())
  ) {
    return {
      ok: false,
      reason: `the origin token is from repository ${repository ?? '(none named)'}, and ${trust.environment} takes deployments only from ${origin.repositories.join(', ')}`,
    };
  }
  const triggeredBy = claimText(claims, 'triggering_actor');
  const ref = claimText(claims, 'ref');
  const workflow = claimText(claims, 'workflow_ref') ?? claimText(claims, 'workflow');
  return {
    ok: true,
    origin: {
      issuerName,
      issuer: issuer.issuer,
      actor,
      alsoBy: triggeredBy && triggeredBy !== actor ? [triggeredBy] : [],
      ...(repository ? { repository } : {}),
      ...(ref ? { ref } : {}),
      ...(sha ? { sha } : {}),
      ...(workflow ? { workflow } : {}),
      fingerprint: proofFingerprint(input.token),
    },
  };
}
