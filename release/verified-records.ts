/**
 * The records promotion and quarantine are judged on, from an audit log that verifies: a record
 * inserted, changed or deleted by hand breaks the hash chain, and evidence from a broken chain
 * could be forged, so nothing is judged on it. The walk reads the whole log once per judgement
 * (about a second per hundred thousand records on SQLite); judgements are rare (one per run).
 */
import type { AuditRecord } from '../audit/record.ts';
import type { AuditStore } from '../audit/store.ts';

/** The audit log does not verify: no judgement can rest on it. */
export class UntrustedAuditLogError extends Error {
  override readonly name = 'UntrustedAuditLogError';
}

/** Every record of `model`, in seq order, after the whole log verified. */
export async function verifiedRecordsOf(store: AuditStore, model: string): Promise<AuditRecord[]> {
  const verified = await store.verify();
  if (!verified.ok) {
    const where = verified.chain.ok
      ? 'its table holds rows outside the chain'
      : `record ${verified.chain.seq}: ${verified.chain.reason}`;
    throw new UntrustedAuditLogError(
      `the audit log at ${store.location} does not verify (${where}): promotion evidence and quarantines cannot be read from it; run \`modelship audit verify\``,
    );
  }
  return store.list({ model });
}
