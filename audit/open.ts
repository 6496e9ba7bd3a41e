/** Opening the audit store a process should use, from MODELSHIP_HOME. */
import { join } from 'node:path';
import { openSqliteAuditStore } from './sqlite-store.ts';
import { AUDIT_DB_FILE, type AuditStore } from './store.ts';

/** The audit log file under a MODELSHIP_HOME. */
export function auditPathFor(home: string): string {
  return join(home, AUDIT_DB_FILE);
}

/** Opens (creating if needed) the SQLite audit log under `home`. */
export function openAuditStore(home: string): Promise<AuditStore> {
  return openSqliteAuditStore(auditPathFor(home));
}
