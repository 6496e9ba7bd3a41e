/** Opening the audit store a process should use: PostgreSQL when given a URL, else SQLite in MODELSHIP_HOME. */
import { join } from 'node:path';
import { openPostgresAuditStore } from './postgres-store.ts';
import { assertPostgresUrl } from './postgres-url.ts';
import { openSqliteAuditStore } from './sqlite-store.ts';
import { AUDIT_DB_FILE, type AuditStore } from './store.ts';

/** The audit log file under a MODELSHIP_HOME. */
export function auditPathFor(home: string): string {
  return join(home, AUDIT_DB_FILE);
}

/**
 * Opens (creating if needed) the audit log: the PostgreSQL table at `auditUrl` (MODELSHIP_AUDIT_URL)
 * when one is given, otherwise the SQLite file under `home`. A URL that is not `postgres://` or
 * `postgresql://` is refused rather than silently falling back to the local file.
 */
export async function openAuditStore(home: string, auditUrl?: string | undefined): Promise<AuditStore> {
  if (auditUrl === undefined || auditUrl.trim() === '') return openSqliteAuditStore(auditPathFor(home));
  assertPostgresUrl(auditUrl, 'the audit store URL (MODELSHIP_AUDIT_URL)');
  return openPostgresAuditStore(auditUrl.trim());
}
