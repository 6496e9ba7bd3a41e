/**
 * Masking: a finding must let a person recognise which credential leaked (its kind, its first
 * characters, its length) without handing the credential to whoever reads the report, the audit
 * log or a CI transcript.
 */

/** How many leading characters stay readable, at most; never more than a quarter of the secret. */
const MAX_VISIBLE_PREFIX = 4;

/** `https://`, `postgres://`: the scheme says what kind of credential URL it is and nothing more. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]{0,30}:\/\//i;
/** `-----BEGIN RSA PRIVATE KEY-----`: the PEM header names the key type; the body is the secret. */
const PEM_HEADER = /^-----BEGIN [A-Z0-9 ]{1,40}-----/;

/** The part of a secret that can be shown: a scheme, a PEM header, or a few leading characters. */
function visiblePrefix(secret: string): string {
  const structural = PEM_HEADER.exec(secret) ?? URL_SCHEME.exec(secret);
  if (structural) return structural[0];
  return secret.slice(0, Math.min(MAX_VISIBLE_PREFIX, Math.floor(secret.length / 4)));
}

/** `ghp_****…(40 chars)`: a short prefix and the length, enough to identify a secret, not to use it. */
export function maskSecret(secret: string): string {
  return `${visiblePrefix(secret)}****…(${secret.length} chars)`;
}

/** The two halves of a masked secret, for the one-line format `(ghp_****…, 40 chars)`. */
export function splitMasked(masked: string): { shown: string; length: string } | undefined {
  const parts = /^(.*)\((\d+ chars)\)$/s.exec(masked);
  return parts?.[1] !== undefined && parts[2] !== undefined
    ? { shown: parts[1], length: parts[2] }
    : undefined;
}

/**
 * Replaces every occurrence of each secret in `text` with its mask, longest first so a secret
 * that contains another (a URL holding a password) is masked whole.
 */
export function maskAll(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) masked = masked.replaceAll(secret, maskSecret(secret));
  }
  return masked;
}
