/**
 * Verifying an OpenID Connect ID token against the issuers an environment's policy trusts, with
 * `jose`: the signature against the issuer's JWKS (fetched over https, or a repository file),
 * then `iss`, `aud`, `exp`/`nbf` and the token's age. The answer names which check failed, so an
 * approver or a CI job learns what to fix, and the caller can audit the reason.
 *
 * Remote key sets are cached per URL for the worker's life (jose refreshes one when a token names
 * a key it has not seen, at most every 30 s), so a burst of approvals fetches once.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { parseDuration } from '../../specs/duration.ts';
import type { EnvironmentPolicy } from '../policy/schema.ts';

/** One trusted issuer as the policy states it. */
export type IssuerPolicy = EnvironmentPolicy['identity']['issuers'][string];

/** Why a token was refused, as a word the audit log and tests can match. */
export type TokenProblem = 'forged' | 'expired' | 'untrusted-issuer' | 'wrong-audience' | 'malformed';

export type TokenCheck =
  | { ok: true; issuerName: string; issuer: IssuerPolicy; claims: JWTPayload }
  | { ok: false; problem: TokenProblem; reason: string };

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

function keySetOf(name: string, issuer: IssuerPolicy, jwksFiles: Record<string, string>): JWTVerifyGetKey {
  const file = jwksFiles[name];
  if (file !== undefined) return createLocalJWKSet(JSON.parse(file));
  let keySet = remoteKeySets.get(issuer.jwks);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(issuer.jwks), { timeoutDuration: 5000 });
    remoteKeySets.set(issuer.jwks, keySet);
  }
  return keySet;
}

/**
 * Verifies `token` against the named issuers of `identity` (all of them when `only` is absent).
 * A key set that cannot be fetched is thrown (infrastructure trouble: the caller retries); every
 * answer about the token itself is returned.
 */
export async function verifyIdToken(
  token: string,
  identity: Pick<EnvironmentPolicy['identity'], 'issuers'>,
  jwksFiles: Record<string, string>,
  options: { now: Date; only?: readonly string[] },
): Promise<TokenCheck> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    return { ok: false, problem: 'malformed', reason: 'the token is not a JWT' };
  }
  const candidates = Object.entries(identity.issuers).filter(
    ([name, issuer]) => issuer.issuer === unverified.iss && (!options.only || options.only.includes(name)),
  );
  const entry = candidates[0];
  if (!entry) {
    const trusted = Object.values(identity.issuers).map((issuer) => issuer.issuer);
    return {
      ok: false,
      problem: 'untrusted-issuer',
      reason: `the token's issuer ${JSON.stringify(unverified.iss ?? null)} is not trusted here (trusted: ${trusted.join(', ') || 'none'})`,
    };
  }
  const [issuerName, issuer] = entry;
  try {
    const { payload } = await jwtVerify(token, keySetOf(issuerName, issuer, jwksFiles), {
      issuer: issuer.issuer,
      audience: issuer.audience,
      currentDate: options.now,
      clockTolerance: 30,
      maxTokenAge: Math.ceil(parseDuration(issuer.maxTokenAge) / 1000),
      // Asymmetric algorithms only: an HMAC "signature" would be keyed by public material.
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    });
    return { ok: true, issuerName, issuer, claims: payload };
  } catch (error) {
    return tokenRefusal(error, issuerName, issuer);
  }
}

function tokenRefusal(error: unknown, name: string, issuer: IssuerPolicy): TokenCheck {
  if (error instanceof errors.JWTExpired) {
    return {
      ok: false,
      problem: 'expired',
      reason: `the ${name} token has expired or is too old (${error.message})`,
    };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return {
        ok: false,
        problem: 'wrong-audience',
        reason: `the ${name} token is for another audience: it must be issued for "${issuer.audience}"`,
      };
    }
    if (error.claim === 'iat' || error.claim === 'nbf') {
      return {
        ok: false,
        problem: 'expired',
        reason: `the ${name} token is not valid now (${error.message})`,
      };
    }
    return {
      ok: false,
      problem: 'malformed',
      reason: `the ${name} token's ${error.claim} claim is wrong: ${error.message}`,
    };
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JOSEAlgNotAllowed
  ) {
    return {
      ok: false,
      problem: 'forged',
      reason: `the token's signature does not verify with ${name}'s keys (${error.message})`,
    };
  }
  if (
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return { ok: false, problem: 'malformed', reason: `the token is malformed: ${error.message}` };
  }
  throw error;
}

/** The text of claim `name`, or undefined when it is absent or not text. */
export function claimText(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
