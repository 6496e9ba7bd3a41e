/**
 * The default audit store: one SQLite file through node-sqlite3-wasm (SQLite compiled to WASM
 * with a VFS over `node:fs`, so nothing native has to build).
 *
 * What that VFS gives, checked on node-sqlite3-wasm 0.8.60 (see test/audit/sqlite-locking.test.ts):
 * - Locking across processes is a `<file>.lock` directory created with mkdir: every lock level,
 *   even a reader's SHARED lock, is exclusive, and there are no POSIX/OFD locks. Concurrent
 *   writers cannot fork the chain — each append reads the head inside `BEGIN IMMEDIATE` — but
 *   readers and writers take turns. If a process dies inside a transaction the directory stays
 *   behind and every other process sees "database is locked"; once the directory is older than
 *   `staleLockMs` (no transaction lasts that long) the store removes it and SQLite rolls the torn
 *   transaction back from its journal. One worker process should still own the file.
 * - WAL is unavailable (no shared memory; `journal_mode=WAL` silently stays `delete`). The
 *   rollback journal with `synchronous=FULL` fsyncs journal and database on every commit, so an
 *   append that resolved survives a crash or power loss; a torn transaction rolls back on the
 *   next open (hot journal).
 * - Calls are synchronous and block the event loop for their duration. SQLite's own busy
 *   handler would sleep synchronously too, so busy_timeout stays 0 and lock waits are retried
 *   here with timers instead, keeping the worker responsive while another process writes.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sqlite from 'node-sqlite3-wasm';
import { accountRows, tableIsClean } from './census.ts';
import { type ChainAnchor, ChainVerifier, hashRecord, type VerifyOptions } from './chain.ts';
import { type AuditEventInput, type AuditRecord, GENESIS_HASH, parseAuditEvent } from './record.ts';
import { checkLayout, countTable, listStrays } from './sqlite-census.ts';
import { rowToCandidate, toParams, toRecord } from './sqlite-rows.ts';
import { ensureSchema, SCHEMA_VERSION } from './sqlite-schema.ts';
import {
  type AuditFilter,
  type AuditStore,
  AuditStoreError,
  AuditStoreNotFoundError,
  type StoreVerifyResult,
} from './store.ts';

type Database = InstanceType<typeof sqlite.Database>;

interface SqliteAuditStoreOptions {
  /** Open an existing log only, and never create or migrate anything (readers, the CLI). */
  mustExist?: boolean;
  /** How long to wait for another process's lock before failing; default 10 000 ms. */
  lockTimeoutMs?: number;
  /**
   * A lock directory older than this is left over from a process that died inside a
   * transaction and is removed (SQLite then rolls the half-written transaction back from its
   * journal). No append holds the lock for more than milliseconds; default 30 000 ms.
   */
  staleLockMs?: number;
}

/** Rows fetched per query when walking the whole log. */
const PAGE_SIZE = 500;

// The rows the walk reads: those that can be chain records. Everything else is counted and
// listed by the census (`sqlite-census.ts`) instead of being mistaken for a broken record.
const CHAIN_CANDIDATE = "typeof(seq) = 'integer' AND seq >= 1";

/**
 * Opens (creating parent directories, file and table unless `mustExist`) the audit log at
 * `path`. Close it when done: the WASM heap is not garbage collected.
 */
export async function openSqliteAuditStore(
  path: string,
  options: SqliteAuditStoreOptions = {},
): Promise<AuditStore> {
  if (options.mustExist && !existsSync(path)) throw new AuditStoreNotFoundError(path);
  if (!options.mustExist) mkdirSync(dirname(path), { recursive: true });
  const db = new sqlite.Database(path, { fileMustExist: options.mustExist ?? false });
  const store = new SqliteAuditStore(
    db,
    path,
    options.lockTimeoutMs ?? 10_000,
    options.staleLockMs ?? 30_000,
  );
  try {
    await store.prepare(options.mustExist ?? false);
  } catch (error) {
    db.close();
    throw error;
  }
  return store;
}

class SqliteAuditStore implements AuditStore {
  // Every use of the connection goes through this chain, so appends commit in call order and
  // no read ever interleaves with an append waiting for its lock.
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly lockTimeoutMs: number,
    private readonly staleLockMs: number,
  ) {}

  get location(): string {
    return this.path;
  }

  async prepare(mustExist: boolean): Promise<void> {
    await this.serial(async () => {
      const version = await this.retryBusy(() => this.db.get('PRAGMA user_version')?.user_version);
      if (typeof version === 'number' && version > SCHEMA_VERSION) {
        throw new AuditStoreError(`${this.path} was written by a newer modelship (schema ${version})`);
      }
      if (mustExist) {
        const table = await this.retryBusy(() =>
          this.db.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'"),
        );
        if (!table)
          throw new AuditStoreError(`${this.path} is not a modelship audit log (no audit_log table)`);
        return;
      }
      // An acknowledged audit record must survive power loss: fsync journal and file per commit.
      // Even a PRAGMA loads the schema first, which needs the lock another process may hold.
      await this.retryBusy(() => this.db.exec('PRAGMA synchronous = FULL'));
      const warning = await this.transaction(() => ensureSchema(this.db));
      if (warning) process.emitWarning(`audit log ${this.path} ${warning}`);
    });
  }

  async append(input: AuditEventInput): Promise<AuditRecord> {
    // Validated before queueing, so a bad event fails fast and never takes a seq.
    const event = parseAuditEvent(input);
    return this.serial(() =>
      this.transaction(() => {
        // Read inside BEGIN IMMEDIATE: no other connection can append between this read and the
        // insert, so two writers can never both extend the same head.
        const head = this.readHead();
        const seq = head.seq + 1;
        const record: AuditRecord = {
          ...event,
          seq,
          prevHash: head.hash,
          hash: hashRecord(head.hash, seq, event),
        };
        this.db.run(
          `INSERT INTO audit_log (seq, time, kind, model, environment, git_commit, workflow_id, run_id, step,
             activity_id, attempt, actor, data, prev_hash, hash)
           VALUES (:seq, :time, :kind, :model, :environment, :commit, :workflowId, :runId, :step,
             :activityId, :attempt, :actor, :data, :prevHash, :hash)`,
          toParams(record),
        );
        return record;
      }),
    );
  }

  list(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const conditions: Array<[column: string, value: string | undefined]> = [
      ['model', filter.model],
      ['environment', filter.environment],
      ['workflow_id', filter.workflowId],
    ];
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    for (const [column, value] of conditions) {
      if (value === undefined) continue;
      where.push(`${column} = :${column}`);
      params[`:${column}`] = value;
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    let sql = `SELECT * FROM audit_log ${clause} ORDER BY seq`;
    if (filter.limit !== undefined) {
      params[':limit'] = Math.max(0, Math.floor(filter.limit));
      sql = `SELECT * FROM (SELECT * FROM audit_log ${clause} ORDER BY seq DESC LIMIT :limit) ORDER BY seq`;
    }
    return this.serial(async () => {
      const rows = await this.retryBusy(() => this.db.all(sql, params));
      return rows.map((row) => toRecord(row, this.path));
    });
  }

  async *all(): AsyncIterable<AuditRecord> {
    const [stray] = await this.serial(() => this.retryBusy(() => listStrays(this.db)));
    if (stray) {
      throw new AuditStoreError(
        `${this.path} holds rows outside the chain (${stray.reason}); run \`modelship audit verify\``,
      );
    }
    for await (const row of this.pages()) yield toRecord(row, this.path);
  }

  head(): Promise<ChainAnchor> {
    return this.serial(() => this.retryBusy(() => this.readHead()));
  }

  async verify(options: VerifyOptions = {}): Promise<StoreVerifyResult> {
    const verifier = new ChainVerifier(options);
    for await (const row of this.pages()) {
      if (verifier.add(rowToCandidate(row)) !== undefined) break;
    }
    const chain = verifier.result();
    const walk = { ok: chain.ok, verifiedCount: verifier.verifiedCount, verifiedHead: verifier.verifiedHead };
    const table = await this.serial(() =>
      this.retryBusy(() =>
        accountRows({
          counts: countTable(this.db, walk.verifiedHead),
          walk,
          listed: listStrays(this.db),
          findings: checkLayout(this.db),
        }),
      ),
    );
    return { ok: chain.ok && tableIsClean(table), chain, table };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.db.close();
  }

  private async *pages(): AsyncGenerator<Record<string, unknown>> {
    let after = 0;
    for (;;) {
      const rows = await this.serial(() =>
        this.retryBusy(() =>
          this.db.all(`SELECT * FROM audit_log WHERE ${CHAIN_CANDIDATE} AND seq > ? ORDER BY seq LIMIT ?`, [
            after,
            PAGE_SIZE,
          ]),
        ),
      );
      yield* rows;
      const last = rows.at(-1)?.seq;
      if (rows.length < PAGE_SIZE || typeof last !== 'number') return;
      after = last;
    }
  }

  private readHead(): ChainAnchor {
    const row = this.db.get('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    if (!row) return { seq: 0, hash: GENESIS_HASH };
    return { seq: Number(row.seq), hash: String(row.hash) };
  }

  private serial<T>(task: () => Promise<T> | T): Promise<T> {
    if (this.closed) return Promise.reject(new AuditStoreError(`audit log ${this.path} is closed`));
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async transaction<T>(body: () => T): Promise<T> {
    await this.retryBusy(() => this.db.exec('BEGIN IMMEDIATE'));
    try {
      const value = body();
      // With this VFS the lock taken at BEGIN is already exclusive, so COMMIT does not wait;
      // retrying it anyway keeps the store correct on a VFS with real shared locks.
      await this.retryBusy(() => this.db.exec('COMMIT'));
      return value;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Removes the lock directory when it is older than any live transaction could make it: its
   * owner died mid-append (SIGKILL, power loss). Returns whether it removed one.
   */
  private breakStaleLock(): boolean {
    const lockDir = `${this.path}.lock`;
    const age = lockAgeMs(lockDir);
    if (age === undefined || age < this.staleLockMs) return false;
    rmSync(lockDir, { recursive: true, force: true });
    process.emitWarning(
      `removed the stale audit lock ${lockDir} (${Math.round(age / 1000)} s old; its owner died mid-append)`,
    );
    return true;
  }

  /** Runs `fn`, retrying with growing, jittered delays while another process holds the lock. */
  private async retryBusy<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      try {
        return fn();
      } catch (error) {
        if (!isBusy(error)) throw wrapSqliteError(error, this.path);
        if (this.breakStaleLock()) continue;
        if (Date.now() >= deadline) {
          throw new AuditStoreError(
            `audit log ${this.path} stayed locked for ${this.lockTimeoutMs} ms: another process is using it, ` +
              `or one crashed while holding it (if no modelship process is running, remove the directory ${this.path}.lock)`,
            { cause: error },
          );
        }
      }
      await sleep(delay * (0.5 + Math.random()));
    }
  }
}

function lockAgeMs(lockDir: string, now = Date.now()): number | undefined {
  try {
    return now - statSync(lockDir).mtimeMs;
  } catch {
    return undefined;
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

function wrapSqliteError(error: unknown, path: string): unknown {
  if (error instanceof Error && /file is not a database|file is encrypted/i.test(error.message)) {
    return new AuditStoreError(`${path} is not a SQLite database`, { cause: error });
  }
  return error;
}
