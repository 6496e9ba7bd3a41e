/**
 * The PostgreSQL layout of the desired-state store, created on first use: three tables in one
 * schema (the `schema` option, else the first schema of the connection's search_path, which is
 * how tests get a schema each):
 *
 * - `desired_state`: one row per environment, its generation and models (JSONB, so a person can
 *   read and query it; key order is not kept, and nothing depends on it);
 * - `desired_state_history`: every generation as written, who and why (primary key environment
 *   and generation, so a generation can never be written twice, even by a writer that skipped
 *   the row lock or after someone deleted a state row by hand);
 * - `desired_state_replicas`: each replica's latest report, keyed by environment and replica.
 *
 * Writers are told of changes on the channel `desired_state_<schema>` (payload
 * `<environment>:<generation>`), one per schema so that stores in other schemas stay quiet.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DesiredStateError } from './errors.ts';

/** The tables of one schema, quoted for SQL, and the names for messages and NOTIFY. */
export interface DesiredStateTables {
  schema: string;
  state: string;
  history: string;
  replicas: string;
  /** The NOTIFY channel of this schema. */
  channel: string;
}

const COMMENT = 'modelship desired state, schema 1';

// Lower case, as psql folds unquoted names; short enough for the channel name to stay within
// PostgreSQL's 63-byte identifiers.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

// Creating the tables is serialised across processes: concurrent CREATE TABLE IF NOT EXISTS
// statements race in the catalog and one of them fails.
const DDL_LOCK_KEY = createHash('sha256').update('modelship:desired-state-ddl').digest().readBigInt64BE(0);

/** The tables in `schema`; throws for a name that is not a plain lower-case identifier. */
export function tablesIn(schema: string): DesiredStateTables {
  if (!IDENTIFIER.test(schema)) {
    throw new DesiredStateError(
      `desired-state schema "${schema}" must be lower-case letters, digits and underscores, at most 40 characters`,
    );
  }
  return {
    schema,
    state: `"${schema}".desired_state`,
    history: `"${schema}".desired_state_history`,
    replicas: `"${schema}".desired_state_replicas`,
    channel: `desired_state_${schema}`,
  };
}

/**
 * Resolves the schema (once, so every process agrees on the channel) and creates what is
 * missing. Tables that are all there are not touched, so a role with only SELECT, INSERT, UPDATE
 * and DELETE on them can use the store.
 */
export async function ensureTables(
  client: pg.PoolClient,
  requested: string | undefined,
  where: string,
): Promise<DesiredStateTables> {
  const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = requested ?? current.rows[0]?.schema;
  if (!schema)
    throw new DesiredStateError(`no schema on the search_path of ${where} exists to hold the desired state`);
  const tables = tablesIn(schema);
  if (await complete(client, tables, where)) return tables;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${DDL_LOCK_KEY})`);
    await client.query(createSql(tables));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await complete(client, tables, where);
  return tables;
}

/** Whether all three tables exist; throws if `desired_state` is someone else's table. */
async function complete(client: pg.PoolClient, tables: DesiredStateTables, where: string): Promise<boolean> {
  const { rows } = await client.query<{ state: boolean; comment: string | null; found: number }>(
    `SELECT to_regclass($1) IS NOT NULL AS state, obj_description(to_regclass($1), 'pg_class') AS comment,
       (to_regclass($1) IS NOT NULL)::int + (to_regclass($2) IS NOT NULL)::int + (to_regclass($3) IS NOT NULL)::int AS found`,
    [tables.state, tables.history, tables.replicas],
  );
  const row = rows[0];
  if (row?.state && row.comment !== COMMENT) {
    throw new DesiredStateError(
      `${tables.state} on ${where} exists but is not a modelship desired-state table (its comment is ` +
        `${row.comment === null ? 'missing' : `"${row.comment}"`}); choose another schema`,
    );
  }
  return row?.found === 3;
}

function createSql(t: DesiredStateTables): string {
  return `
CREATE SCHEMA IF NOT EXISTS "${t.schema}";
CREATE TABLE IF NOT EXISTS ${t.state} (
  environment TEXT PRIMARY KEY,
  generation BIGINT NOT NULL CHECK (generation >= 0),
  models JSONB NOT NULL,
  updated_at TIMESTAMPTZ,
  updated_by TEXT,
  reason TEXT
);
COMMENT ON TABLE ${t.state} IS '${COMMENT}';
CREATE TABLE IF NOT EXISTS ${t.history} (
  environment TEXT NOT NULL,
  generation BIGINT NOT NULL,
  models JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  updated_by TEXT,
  reason TEXT,
  PRIMARY KEY (environment, generation)
);
CREATE TABLE IF NOT EXISTS ${t.replicas} (
  environment TEXT NOT NULL,
  replica TEXT NOT NULL,
  generation BIGINT NOT NULL,
  serving BIGINT NOT NULL,
  status TEXT NOT NULL,
  message TEXT,
  url TEXT,
  started_at TIMESTAMPTZ NOT NULL,
  reported_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (environment, replica)
);
`;
}
