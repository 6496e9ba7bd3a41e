/**
 * The audit store contract. The worker's interceptors append; the CLI lists, verifies and
 * exports. SQLite (`sqlite-store.ts`) is the default; PostgreSQL (`postgres-store.ts`) implements
 * the same interface and reuses `chain.ts` and `rows.ts` unchanged, appending under its own lock
 * (a transaction-scoped advisory lock per table).
 */
import { isAbsolute, join, resolve } from 'node:path';
import type { TableReport } from './census.ts';
import type { ChainAnchor, VerifyOptions, VerifyResult } from './chain.ts';
import type { AuditEventInput, AuditRecord } from './record.ts';

export type { ChainAnchor } from './chain.ts';

/** What {@link AuditStore.verify} found: the chain walk, and every row of the table accounted for. */
export interface StoreVerifyResult {
  /** The chain verifies to its end, no row sits outside it, and the layout has no problem. */
  ok: boolean;
  /** The walk over the rows that can be chain records, in seq order; names the first bad one. */
  chain: VerifyResult;
  /** The whole table counted against the walk: stray rows, rows after a break, layout findings. */
  table: TableReport;
}

/** Narrows {@link AuditStore.list}; fields combine with AND. */
export interface AuditFilter {
  model?: string;
  workflowId?: string;
  environment?: string;
  /** Keep only the most recent `limit` matches (still returned oldest first). */
  limit?: number;
}

export interface AuditStore {
  /** Where the log is, for messages: a file path, or a table and server (never a password). */
  readonly location: string;
  /**
   * Validates the event, links it to the current head and stores it durably; resolves to the
   * stored record once committed. Concurrent calls are serialised and committed in call order.
   * Rejects with `InvalidAuditEventError` for a malformed event, and with an error when the
   * store cannot be written (the caller decides whether that fails the activity).
   */
  append(event: AuditEventInput): Promise<AuditRecord>;
  /** Matching records in seq order. */
  list(filter?: AuditFilter): Promise<AuditRecord[]>;
  /**
   * Every record in seq order, read in pages so a long log never sits in memory at once. Fails
   * (pointing at `verify`) when the table holds a row outside the chain, rather than leave it
   * out of an export unnoticed.
   */
  all(): AsyncIterable<AuditRecord>;
  /** The last record's position and hash (`{ seq: 0, hash: GENESIS_HASH }` when empty): pin it. */
  head(): Promise<ChainAnchor>;
  /**
   * Walks the whole chain (naming the first bad record), then counts every row of the table
   * against it, so that no row can sit where the walk does not look, and checks the layout.
   */
  verify(options?: VerifyOptions): Promise<StoreVerifyResult>;
  /** Waits for pending appends, then releases the store. */
  close(): Promise<void>;
}

/** Name of the audit database inside MODELSHIP_HOME. */
export const AUDIT_DB_FILE = 'audit.db';

/** Name of the signed checkpoints of the log's head inside MODELSHIP_HOME (`checkpoint-file.ts`). */
export const AUDIT_CHECKPOINTS_FILE = 'audit-checkpoints.jsonl';

/**
 * Where the audit database lives: `$MODELSHIP_HOME/audit.db`, with MODELSHIP_HOME defaulting to
 * `.modelship` in `cwd`. Returns an absolute path.
 */
export function defaultAuditPath(
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): string {
  return join(defaultAuditHome(env, cwd), AUDIT_DB_FILE);
}

/** MODELSHIP_HOME as an absolute path, `.modelship` in `cwd` when unset. */
export function defaultAuditHome(
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): string {
  const home = env.MODELSHIP_HOME?.trim() || '.modelship';
  return isAbsolute(home) ? home : resolve(cwd, home);
}

/** The store's file (or table) does not exist (readers never create one). */
export class AuditStoreNotFoundError extends Error {
  /** `hint` names the setting that may point elsewhere; the default fits the SQLite file. */
  constructor(
    readonly path: string,
    hint = 'MODELSHIP_HOME / --home points elsewhere',
  ) {
    super(`no audit log at ${path} (nothing has been recorded yet, or ${hint})`);
    this.name = 'AuditStoreNotFoundError';
  }
}

/** The store could not be opened or read as an audit log; the message is for a person. */
export class AuditStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditStoreError';
  }
}
