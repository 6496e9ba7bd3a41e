/**
 * Bearer-token check for the admin API. Both tokens are hashed to sha256 digests first, so
 * `crypto.timingSafeEqual` always compares 32 bytes with 32 bytes: neither the comparison time
 * nor an early length mismatch tells a caller how much of a guess was right, or how long the
 * token is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** A check of an `Authorization` header value against the configured token. */
export type Authorizer = (authorization: string | undefined) => boolean;

/** Checks `Authorization: Bearer <token>`; with no token configured (insecure mode) everything passes. */
export function bearerAuthorizer(token: string | undefined): Authorizer {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    // Compare a digest even without a token in the header, so both paths take the same time.
    const given = digest(match?.[1] ?? '');
    return timingSafeEqual(given, expected) && match !== null;
  };
}
