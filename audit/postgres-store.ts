/**
 * The audit store in PostgreSQL, for several worker processes (or machines) sharing one log.
 * Same records, same hash chain and same row layout as the SQLite store (`chain.ts`, `rows.ts`).
 *
 * Appending is one transaction: `pg_advisory_xact_lock(<key of the table>)`, read the head,
 * insert the next `seq`, commit. The lock serialises appenders in every process; it is released
 * by COMMIT only after the row is visible, so the next holder always reads the new head. Unlike
 * SQLite's lock directory, a process that dies mid-append loses its connection and with it the
 * lock. The `seq` primary key is the backstop: a writer that skips the lock gets a
 * unique-violation error, never a forked chain. Within one process appends also queue in call
 * order; reads use the other pooled connections and never wait for appends.
 */
import pg from 'pg';
import { accountRows, tableIsClean } from './census.ts';
import { ChainVerifier, hashRecord, type VerifyOptions } from './chain.ts';
import { checkLayout, countTable, listStrays } from './postgres-census.ts';
import { wrapPgError } from './postgres-errors.ts';
import { type AuditTable, DEFAULT_AUDIT_TABLE, ensureAuditTable } from './postgres-schema.ts';
import { describePostgresUrl } from './postgres-url.ts';
import {
  type AuditEvent,
  type AuditEventInput,
  type AuditRecord,
  GENESIS_HASH,
  parseAuditEvent,
} from './record.ts';
import { AUDIT_COLUMNS, rowToCandidate, toColumns, toRecord } from './rows.ts';
import {
  type AuditFilter,
  type AuditStore,
  AuditStoreError,
  type ChainAnchor,
  type StoreVerifyResult,
} from './store.ts';

export { appendLockKey } from './postgres-schema.ts';

interface PostgresAuditStoreOptions {
  /** `name` or `schema.name` (lower case); default `audit_log` in the first schema of search_path. */
  table?: string;
  /** Open an existing table only, and never create anything (readers, the CLI). */
  mustExist?: boolean;
  /** Connections in the pool; default 4 (one appends at a time, the rest serve reads). */
  maxConnections?: number;
  /** How long to wait for a connection to open; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** How long an append waits for another process's append lock before failing; default 10 000 ms. */
  lockTimeoutMs?: number;
  /** Rows per query when walking the whole log (`all`, `verify`); default 500. */
  pageSize?: number;
}

// A session that stalls inside a transaction (a frozen process) is ended by the server after
// this long, which releases the append lock every other worker is waiting for.
const IDLE_IN_TRANSACTION_MS = 30_000;

const INSERT_COLUMNS = AUDIT_COLUMNS.join(', ');
const INSERT_PLACEHOLDERS = AUDIT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');

/**
 * Connects to PostgreSQL at `url` and opens (creating unless `mustExist`) the audit table.
 * Connection problems reject with an {@link AuditStoreError} naming user, host and database
 * (never the password). Close the store when done: it holds a connection pool.
 */
export async function openPostgresAuditStore(
  url: string,
  options: PostgresAuditStoreOptions = {},
): Promise<AuditStore> {
  const where = describePostgresUrl(url);
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // Bounds every lock wait on the server, the advisory lock included, so that a stuck
    // appender elsewhere surfaces as an error here instead of a hang.
    lock_timeout: lockTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    application_name: 'modelship-audit',
  });
  // A pooled idle connection dropped by the server emits here; without a listener that would
  // crash the process. The pool discards it, and the next query reports any lasting problem.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      const table = await ensureAuditTable(
        client,
        options.table ?? DEFAULT_AUDIT_TABLE,
        options.mustExist ?? false,
        where,
      );
      return new PostgresAuditStore(pool, table, where, lockTimeoutMs, options.pageSize ?? 500);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw wrapPgError(error, `PostgreSQL audit store at ${where}`, lockTimeoutMs);
  }
}

class PostgresAuditStore implements AuditStore {
  // Appends from this process queue here, so they commit in call order (the advisory lock alone
  // would let them overtake each other) and only one pooled connection waits for the lock.
  private appends: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly where: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly table: AuditTable,
    server: string,
    private readonly lockTimeoutMs: number,
    private readonly pageSize: number,
  ) {
    this.where = `table ${table.label} on ${server}`;
  }

  get location(): string {
    return this.where;
  }

  async append(input: AuditEventInput): Promise<AuditRecord> {
    if (this.closed) throw this.closedError();
    // Validated before queueing, so a bad event fails fast and never takes a seq.
    const event = parseAuditEvent(input);
    // Not `guarded`: an append queued before close still runs, and close waits for it.
    const result = this.appends.then(() => this.run(() => this.appendNow(event)));
    this.appends = result.catch(() => undefined);
    return result;
  }

  list(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const conditions: Array<[column: string, value: string | undefined]> = [
      ['model', filter.model],
      ['environment', filter.environment],
      ['workflow_id', filter.workflowId],
    ];
    const where: string[] = [];
    const params: Array<string | number> = [];
    for (const [column, value] of conditions) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    let sql = `SELECT * FROM ${this.table.sql} ${clause} ORDER BY seq`;
    if (filter.limit !== undefined) {
      params.push(Math.max(0, Math.floor(filter.limit)));
      sql = `SELECT * FROM (SELECT * FROM ${this.table.sql} ${clause} ORDER BY seq DESC LIMIT $${params.length})
        AS recent ORDER BY seq`;
    }
    return this.guarded(async () => {
      const { rows } = await this.pool.query(sql, params);
      return rows.map((row: Record<string, unknown>) => toRecord(fromPg(row), this.where));
    });
  }

  async *all(): AsyncIterable<AuditRecord> {
    const [stray] = await this.guarded(() => listStrays(this.pool, this.table));
    if (stray) {
      throw new AuditStoreError(
        `${this.where} holds rows outside the chain (${stray.reason}); run \`modelship audit verify\``,
      );
    }
    for await (const row of this.pages()) yield toRecord(row, this.where);
  }

  head(): Promise<ChainAnchor> {
    return this.guarded(() => this.readHead(this.pool));
  }

  async verify(options: VerifyOptions = {}): Promise<StoreVerifyResult> {
    const verifier = new ChainVerifier(options);
    // The pages read seq 1 and up; the census below counts everything else.
    for await (const row of this.pages()) {
      if (verifier.add(rowToCandidate(row)) !== undefined) break;
    }
    const chain = verifier.result();
    const walk = { ok: chain.ok, verifiedCount: verifier.verifiedCount, verifiedHead: verifier.verifiedHead };
    const table = await this.guarded(async () =>
      accountRows({
        counts: await countTable(this.pool, this.table, walk.verifiedHead),
        walk,
        listed: await listStrays(this.pool, this.table),
        findings: await checkLayout(this.pool, this.table),
      }),
    );
    return { ok: chain.ok && tableIsClean(table), chain, table };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appends;
    await Promise.allSettled([...this.inFlight]);
    await this.pool.end();
  }

  private async appendNow(event: AuditEvent): Promise<AuditRecord> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // One round trip for BEGIN and the lock. The head is read by its own statement after the
      // lock is granted: under READ COMMITTED each statement takes a fresh snapshot, so it sees
      // the row the previous holder committed.
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${this.table.appendLockKey})`);
      const head = await this.readHead(client);
      const seq = head.seq + 1;
      const record: AuditRecord = {
        ...event,
        seq,
        prevHash: head.hash,
        hash: hashRecord(head.hash, seq, event),
      };
      const columns = toColumns(record);
      await client.query(
        `INSERT INTO ${this.table.sql} (${INSERT_COLUMNS}) VALUES (${INSERT_PLACEHOLDERS})`,
        AUDIT_COLUMNS.map((column) => columns[column]),
      );
      await client.query('COMMIT');
      return record;
    } catch (error) {
      // A connection that cannot even roll back is destroyed rather than returned to the pool.
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async *pages(): AsyncGenerator<Record<string, unknown>> {
    let after = 0;
    for (;;) {
      const rows = await this.guarded(async () => {
        const result = await this.pool.query(
          `SELECT * FROM ${this.table.sql} WHERE seq > $1 ORDER BY seq LIMIT $2`,
          [after, this.pageSize],
        );
        return result.rows.map(fromPg);
      });
      yield* rows;
      const last = rows.at(-1)?.seq;
      if (rows.length < this.pageSize || typeof last !== 'number') return;
      after = last;
    }
  }

  private async readHead(db: pg.Pool | pg.PoolClient): Promise<ChainAnchor> {
    const { rows } = await db.query(`SELECT seq, hash FROM ${this.table.sql} ORDER BY seq DESC LIMIT 1`);
    const row = rows[0] as Record<string, unknown> | undefined;
    if (!row) return { seq: 0, hash: GENESIS_HASH };
    return { seq: Number(row.seq), hash: String(row.hash) };
  }

  /** {@link run}, refused once the store is closed. */
  private guarded<T>(task: () => Promise<T>): Promise<T> {
    return this.closed ? Promise.reject(this.closedError()) : this.run(task);
  }

  /** Runs `task` where `close` can wait for it; its errors name the table and server. */
  private run<T>(task: () => Promise<T>): Promise<T> {
    const running = task().catch((error: unknown) =>
      Promise.reject(wrapPgError(error, `audit ${this.where}`, this.lockTimeoutMs)),
    );
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running)).catch(() => undefined);
    return running;
  }

  private closedError(): AuditStoreError {
    return new AuditStoreError(`audit ${this.where} is closed`);
  }
}

/** pg returns BIGINT as text (it may exceed 2^53); a seq never will, and the chain wants a number. */
function fromPg(row: Record<string, unknown>): Record<string, unknown> {
  return typeof row.seq === 'string' ? { ...row, seq: Number(row.seq) } : row;
}
