/**
 * A proof's fingerprint: enough of its SHA-256 to tell two proofs apart in the audit log and to
 * notice one presented twice, without writing the signature or token itself anywhere.
 */
import { createHash } from 'node:crypto';

/** First 16 hex characters of the SHA-256 of `proof` (a signature or a token). */
export function proofFingerprint(proof: string): string {
  return createHash('sha256').update(proof).digest('hex').slice(0, 16);
}

/** The base64url SHA-256 of `text`: the `nonce` an OIDC token carries to bind it to a statement. */
export function nonceOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
