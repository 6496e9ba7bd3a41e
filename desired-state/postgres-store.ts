/**
 * The desired-state store in PostgreSQL: for environments whose replicas, workers and Temporal
 * run on several machines. Layout and channel: `postgres-schema.ts`.
 *
 * An update is one transaction that locks the environment's row (`postgres-update.ts`), so
 * writers in every process take turns per environment and none loses a change; updates of one
 * environment from this process also queue here, so waiting writers hold one pooled connection,
 * not all of them. Watches share one LISTEN connection (`postgres-listener.ts`) and poll slowly
 * in case a notification is lost.
 *
 * Times come from the server's clock (`clock_timestamp()`): `updatedAt`, each report's
 * `reportedAt` and `readAt`, so liveness never depends on the machines' clocks agreeing.
 */
import pg from 'pg';
import { describePostgresUrl } from '../domain/postgres-url.ts';
import { DesiredStateError, parseOrThrow } from './errors.ts';
import { wrapPgError } from './postgres-errors.ts';
import { PgListener } from './postgres-listener.ts';
import { type Row, reportFromRow, stateFromRow } from './postgres-rows.ts';
import { type DesiredStateTables, ensureTables } from './postgres-schema.ts';
import { CallerError, type RowContext, refuseLostRow, updateEnvironment } from './postgres-update.ts';
import {
  checkEnvironment,
  checkForget,
  type DesiredStateStore,
  type ForgetReplicas,
  type ModelsChange,
  type StopWatching,
  type UpdateOptions,
  type WatchOptions,
} from './store.ts';
import { Tasks } from './tasks.ts';
import {
  type DesiredState,
  emptyDesiredState,
  type ReplicaReport,
  ReplicaReportInput,
  type ReplicaReports,
} from './types.ts';
import { StateWatch } from './watcher.ts';

/** Options of {@link openPostgresDesiredStateStore}. */
export interface PostgresDesiredStateOptions {
  /** The schema holding the tables (created if missing); default the first schema of search_path. */
  schema?: string;
  /** Pooled connections; default 4 (the listener has its own). */
  maxConnections?: number;
  /** How long to wait for a connection; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** How long an update waits for another writer of the same environment; default 10 000 ms. */
  lockTimeoutMs?: number;
  /** The safety-net poll of every watch, for notifications lost on a dead connection; default 30 000 ms. */
  pollIntervalMs?: number;
}

// A session frozen inside a transaction is ended by the server after this long, releasing the
// row lock the other writers wait for.
const IDLE_IN_TRANSACTION_MS = 30_000;

/**
 * Connects to PostgreSQL at `url` and creates the tables if missing. Connection problems reject
 * with a {@link DesiredStateError} naming user, host and database. Close the store when done.
 */
export async function openPostgresDesiredStateStore(
  url: string,
  options: PostgresDesiredStateOptions = {},
): Promise<DesiredStateStore> {
  const server = describePostgresUrl(url);
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: connectTimeoutMs,
    lock_timeout: lockTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    application_name: 'modelship-desired-state',
  });
  // An idle pooled connection the server drops emits here; unheard, it would crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      const tables = await ensureTables(client, options.schema, server);
      return new PostgresDesiredStateStore(pool, tables, {
        url,
        server,
        lockTimeoutMs,
        connectTimeoutMs,
        pollIntervalMs: options.pollIntervalMs ?? 30_000,
      });
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw wrapPgError(error, `desired-state store at ${server}`, lockTimeoutMs);
  }
}

interface StoreConfig {
  url: string;
  server: string;
  lockTimeoutMs: number;
  connectTimeoutMs: number;
  pollIntervalMs: number;
}

class PostgresDesiredStateStore implements DesiredStateStore {
  readonly location: string;
  private readonly tasks = new Tasks();
  private readonly watches = new Map<string, Set<StateWatch>>();
  private listener: PgListener | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: DesiredStateTables,
    private readonly config: StoreConfig,
  ) {
    this.location = `schema ${tables.schema} on ${config.server}`;
  }

  async read(environment: string): Promise<DesiredState> {
    const env = checkEnvironment(environment);
    return this.run(async () => {
      const { rows } = await this.pool.query(`SELECT * FROM ${this.tables.state} WHERE environment = $1`, [
        env,
      ]);
      const row = rows[0] as Row | undefined;
      if (row !== undefined) return stateFromRow(env, row, this.at(this.tables.state));
      await refuseLostRow(this.pool, this.rows, env);
      return emptyDesiredState(env);
    });
  }

  async update(
    environment: string,
    change: ModelsChange,
    options: UpdateOptions = {},
  ): Promise<DesiredState> {
    const env = checkEnvironment(environment);
    return this.tasks.queue(env, () =>
      this.run(() => updateEnvironment(this.pool, this.rows, env, change, options)),
    );
  }

  async history(environment: string, options: { limit?: number } = {}): Promise<DesiredState[]> {
    const env = checkEnvironment(environment);
    const limit = Math.max(0, Math.floor(options.limit ?? 1000));
    return this.run(async () => {
      const { rows } = await this.pool.query(
        `SELECT * FROM ${this.tables.history} WHERE environment = $1 ORDER BY generation DESC LIMIT $2`,
        [env, limit],
      );
      return rows.map((row: Row) =>
        stateFromRow(env, row, this.at(`${this.tables.history} (generation ${row.generation})`)),
      );
    });
  }

  async report(input: ReplicaReportInput): Promise<ReplicaReport> {
    const report = parseOrThrow(ReplicaReportInput, input, 'replica report refused');
    return this.run(async () => {
      const { rows } = await this.pool.query(
        `INSERT INTO ${this.tables.replicas}
           (environment, replica, generation, serving, status, message, url, started_at, reported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
         ON CONFLICT (environment, replica) DO UPDATE SET generation = EXCLUDED.generation,
           serving = EXCLUDED.serving, status = EXCLUDED.status, message = EXCLUDED.message, url = EXCLUDED.url,
           started_at = EXCLUDED.started_at, reported_at = EXCLUDED.reported_at
         RETURNING *`,
        [
          report.environment,
          report.replica,
          report.generation,
          report.serving,
          report.status,
          report.message,
          report.url,
          report.startedAt,
        ],
      );
      return reportFromRow(rows[0] as Row, this.at(this.tables.replicas));
    });
  }

  async replicas(environment: string, options: { seenWithinMs?: number } = {}): Promise<ReplicaReports> {
    const env = checkEnvironment(environment);
    return this.run(async () => {
      // One statement, so the clock and the rows are read together; the LEFT JOIN keeps the
      // clock's row when there are no reports.
      const { rows } = await this.pool.query(
        `SELECT c.read_at, r.* FROM (SELECT clock_timestamp() AS read_at) AS c
           LEFT JOIN ${this.tables.replicas} AS r ON r.environment = $1
             AND ($2::float8 IS NULL OR r.reported_at >= c.read_at - $2::float8 * interval '1 millisecond')
         ORDER BY r.replica`,
        [env, options.seenWithinMs ?? null],
      );
      const readAt = (rows[0] as Row | undefined)?.read_at;
      return {
        environment: env,
        readAt: readAt instanceof Date ? readAt.toISOString() : new Date().toISOString(),
        reports: rows
          .filter((row: Row) => row.replica !== null)
          .map((row: Row) => reportFromRow(row, this.at(this.tables.replicas))),
      };
    });
  }

  async forgetReplicas(environment: string, which: ForgetReplicas): Promise<string[]> {
    const env = checkEnvironment(environment);
    const checked = checkForget(which);
    const [condition, value] =
      'replica' in checked
        ? ['replica = $2', checked.replica]
        : ["reported_at < clock_timestamp() - $2::float8 * interval '1 millisecond'", checked.notSeenForMs];
    return this.run(async () => {
      const { rows } = await this.pool.query(
        `DELETE FROM ${this.tables.replicas} WHERE environment = $1 AND ${condition} RETURNING replica`,
        [env, value],
      );
      return rows.map((row: Row) => String(row.replica)).sort();
    });
  }

  async watch(
    environment: string,
    onChange: (state: DesiredState) => void,
    options: WatchOptions = {},
  ): Promise<StopWatching> {
    const env = checkEnvironment(environment);
    if (this.closed) throw this.closedError();
    const watch = new StateWatch(() => this.read(env), onChange, options, this.config.pollIntervalMs);
    const set = this.watches.get(env) ?? new Set();
    set.add(watch);
    this.watches.set(env, set);
    await this.listen();
    await watch.start();
    return async () => {
      set.delete(watch);
      if (set.size === 0 && this.watches.get(env) === set) this.watches.delete(env);
      await watch.stop();
      if (this.watches.size === 0) await this.unlisten();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const watches = [...this.watches.values()].flatMap((set) => [...set]);
    this.watches.clear();
    await Promise.all(watches.map((watch) => watch.stop()));
    await this.unlisten();
    await this.tasks.drain();
    await this.pool.end();
  }

  private async listen(): Promise<void> {
    if (this.listener) return;
    const listener = new PgListener(
      {
        url: this.config.url,
        where: this.config.server,
        channel: this.tables.channel,
        connectTimeoutMs: this.config.connectTimeoutMs,
      },
      {
        notify: (payload) => {
          const env = payload.slice(0, payload.lastIndexOf(':'));
          for (const watch of this.watches.get(env) ?? []) watch.trigger();
        },
        connected: () => this.eachWatch((watch) => watch.trigger()),
        error: (error) => this.eachWatch((watch) => watch.fail(error)),
      },
    );
    this.listener = listener;
    await listener.start();
  }

  private async unlisten(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
  }

  private eachWatch(action: (watch: StateWatch) => void): void {
    for (const set of this.watches.values()) for (const watch of set) action(watch);
  }

  /** Runs `task` where `close` can wait for it; pg errors become messages naming the server. */
  private run<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const running = task().catch((error: unknown) => {
      if (error instanceof CallerError) return Promise.reject(error.error);
      return Promise.reject(
        wrapPgError(error, `desired-state store (${this.location})`, this.config.lockTimeoutMs),
      );
    });
    return this.tasks.track(running);
  }

  /** `table on server`, for messages about a row. */
  private at(table: string): string {
    return `${table} on ${this.config.server}`;
  }

  private get rows(): RowContext {
    return { tables: this.tables, at: (table) => this.at(table) };
  }

  private closedError(): DesiredStateError {
    return new DesiredStateError(`desired-state store (${this.location}) is closed`);
  }
}
