/**
 * Opening the audit store a writer (worker, `modelship dev`) should use: PostgreSQL when given a
 * URL, else SQLite in MODELSHIP_HOME, signing checkpoints of the chain into the home either way.
 */
import { join } from 'node:path';
import { checkpointsPathFor } from './checkpoint-file.ts';
import { checkpointKeyPath, loadOrCreateCheckpointKey } from './checkpoint-key.ts';
import { withCheckpoints } from './checkpointing-store.ts';
import { assertPostgresUrl } from './postgres-url.ts';
import { openSqliteAuditStore } from './sqlite-store.ts';
import { AUDIT_DB_FILE, type AuditStore } from './store.ts';

/**
 * The PostgreSQL store, its module loaded only when a URL asks for it: the `pg` driver costs a
 * process about 60 ms of start-up, and most installations, and every read of a local log, use
 * SQLite.
 */
async function openPostgresAuditStore(url: string): Promise<AuditStore> {
  const postgres = await import('./postgres-store.ts');
  return postgres.openPostgresAuditStore(url);
}

/** The audit log file under a MODELSHIP_HOME. */
export function auditPathFor(home: string): string {
  return join(home, AUDIT_DB_FILE);
}

/** How a writer signs checkpoints of the chain (`checkpointing-store.ts`). */
export interface WriterCheckpointOptions {
  /** The checkpoint file; default `<home>/audit-checkpoints.jsonl`. */
  path?: string;
  /** The Ed25519 signing key, created if missing; default `<home>/keys/audit-checkpoint.key`. */
  keyPath?: string;
  /** Records between checkpoints; default 100. One more is always written on close. */
  every?: number;
}

/** Options of {@link openAuditStore}. */
export interface OpenAuditStoreOptions {
  /** Where checkpoints go; `false` writes none (a store that is never the log's writer). */
  checkpoints?: WriterCheckpointOptions | false;
}

/**
 * Opens (creating if needed) the audit log: the PostgreSQL table at `auditUrl` (MODELSHIP_AUDIT_URL)
 * when one is given, otherwise the SQLite file under `home`. A URL that is not `postgres://` or
 * `postgresql://` is refused rather than silently falling back to the local file. Unless told
 * otherwise, the store signs checkpoints into `home` as it appends and when it is closed, so
 * closing it on shutdown matters.
 */
export async function openAuditStore(
  home: string,
  auditUrl?: string | undefined,
  options: OpenAuditStoreOptions = {},
): Promise<AuditStore> {
  const url = auditUrl?.trim() ?? '';
  if (url !== '') assertPostgresUrl(url, 'the audit store URL (MODELSHIP_AUDIT_URL)');
  const checkpoints = options.checkpoints ?? {};
  // The key first: a key that cannot be read stops the writer before it opens anything.
  const key =
    checkpoints === false
      ? undefined
      : await loadOrCreateCheckpointKey(checkpoints.keyPath ?? checkpointKeyPath(home));
  const store =
    url === '' ? await openSqliteAuditStore(auditPathFor(home)) : await openPostgresAuditStore(url);
  if (checkpoints === false || key === undefined) return store;
  return withCheckpoints(store, {
    path: checkpoints.path ?? checkpointsPathFor(home),
    key,
    ...(checkpoints.every === undefined ? {} : { every: checkpoints.every }),
  });
}
