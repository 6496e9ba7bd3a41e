/**
 * Canonical JSON for the audit chain: the text (`domain/canonical-json.ts`, where its rules are
 * written down) and its SHA-256, the digest every record and chain link is computed over.
 */
import { canonicalJson } from '../domain/canonical-json.ts';
import { sha256Hex } from '../model/files.ts';

export { canonicalJson };

/** SHA-256 (lowercase hex) of the canonical JSON of `value`. */
export function digestOf(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
