/**
 * The digest that names a spec's content: sha256 of its text as committed. `apply` keys its
 * decisions on it (already deployed? rolled back?), and every DeployModel run carries it in its
 * memo, so a rolled-back version is recognised until its spec changes.
 */
import { createHash } from 'node:crypto';

/** sha256 hex of the spec text's UTF-8 bytes. */
export function specDigest(specText: string): string {
  return createHash('sha256').update(specText, 'utf8').digest('hex');
}
