/**
 * One update of an environment in PostgreSQL, as one transaction:
 *
 * 1. INSERT the environment's row at generation 0 unless it exists (FOR UPDATE needs a row);
 * 2. SELECT it FOR UPDATE: every other writer of this environment, in any process, waits here,
 *    and under READ COMMITTED its SELECT then re-reads the row the holder committed, so each
 *    change applies to the latest models and none is lost (other environments never wait);
 * 3. apply the change (`nextDesiredState`); if the models changed, UPDATE the row, INSERT the
 *    history entry (its primary key refuses a generation written before) and NOTIFY;
 * 4. COMMIT, which releases the lock and delivers the notification; an error rolls back all of it.
 *
 * A writer that dies mid-update loses its connection, and the server rolls back and releases.
 */
import type pg from 'pg';
import { DesiredStateCorruptError, DesiredStateError } from './errors.ts';
import { type Row, stateFromRow } from './postgres-rows.ts';
import type { DesiredStateTables } from './postgres-schema.ts';
import { type ModelsChange, nextDesiredState, type UpdateOptions } from './store.ts';
import type { DesiredState } from './types.ts';

/** The tables and how to name them in messages. */
export interface RowContext {
  tables: DesiredStateTables;
  /** `table` → `table on server`. */
  at(table: string): string;
}

/** An error of the caller's own (`change` threw), to be passed on untouched, never wrapped as pg's. */
export class CallerError {
  constructor(readonly error: unknown) {}
}

/** Runs one update of `environment`; see the module comment. */
export async function updateEnvironment(
  pool: pg.Pool,
  context: RowContext,
  environment: string,
  change: ModelsChange,
  options: UpdateOptions,
): Promise<DesiredState> {
  const t = context.tables;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO ${t.state} (environment, generation, models) VALUES ($1, 0, '{}') ON CONFLICT (environment) DO NOTHING`,
      [environment],
    );
    // The server's clock, so every writer stamps generations by one clock.
    const { rows } = await client.query(
      `SELECT *, clock_timestamp() AS now FROM ${t.state} WHERE environment = $1 FOR UPDATE`,
      [environment],
    );
    const row = rows[0] as Row;
    const current = stateFromRow(environment, row, context.at(t.state));
    if (current.generation === 0) await refuseLostRow(client, context, environment);
    let next: ReturnType<typeof nextDesiredState>;
    try {
      next = nextDesiredState(current, change, options, row.now as Date);
    } catch (error) {
      throw new CallerError(error);
    }
    const { state } = next;
    if (next.changed) {
      const values = [
        environment,
        state.generation,
        JSON.stringify(state.models),
        state.updatedAt,
        state.updatedBy,
        state.reason,
      ];
      await client.query(
        `UPDATE ${t.state} SET generation = $2, models = $3, updated_at = $4, updated_by = $5, reason = $6
         WHERE environment = $1`,
        values,
      );
      await insertHistory(client, context, values, state);
      await client.query('SELECT pg_notify($1, $2)', [t.channel, `${environment}:${state.generation}`]);
    }
    await client.query('COMMIT');
    return state;
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

/**
 * No state row (or one at generation 0) but a history: the row was deleted or reset by hand.
 * Reading it as empty would tell every replica to unload everything, and writing would repeat
 * generations, so both refuse until someone restores it.
 */
export async function refuseLostRow(
  db: pg.Pool | pg.PoolClient,
  context: RowContext,
  environment: string,
): Promise<void> {
  const t = context.tables;
  const { rows } = await db.query(
    `SELECT max(generation) AS newest FROM ${t.history} WHERE environment = $1`,
    [environment],
  );
  const newest = (rows[0] as Row | undefined)?.newest;
  if (newest === null || newest === undefined) return;
  throw new DesiredStateCorruptError(
    environment,
    context.at(t.state),
    `its row is missing or at generation 0, but ${t.history} holds generations up to ${String(newest)}; ` +
      'restore the row from the newest history entry',
  );
}

async function insertHistory(
  client: pg.PoolClient,
  context: RowContext,
  values: unknown[],
  state: DesiredState,
): Promise<void> {
  const t = context.tables;
  try {
    await client.query(
      `INSERT INTO ${t.history} (environment, generation, models, updated_at, updated_by, reason)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      values,
    );
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    throw new DesiredStateError(
      `desired state of environment "${state.environment}" in ${context.at(t.state)}: generation ` +
        `${state.generation} is already in ${t.history}, so the state row was set back by hand; generations ` +
        'never repeat, so restore the row (its generation is the newest in the history) before writing',
    );
  }
}
