/**
 * The PostgreSQL layout of the audit table (same columns as SQLite, from `rows.ts`), creating it
 * on first use, and the advisory lock keys that serialise creation and appends across processes.
 *
 * Schema 2 adds CHECK constraints that refuse rows no chain can hold (seq >= 1, attempt >= 1,
 * lowercase hex hashes, non-empty texts). A schema 1 table gets them as NOT VALID constraints,
 * which the server enforces on every new row without first checking the old ones, then each is
 * validated if the old rows allow it: a table that already holds a stray row keeps working, and
 * verify reports the row. A role that may not ALTER the table (only SELECT and INSERT) keeps
 * appending to the schema 1 table, with a warning.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { AuditStoreError, AuditStoreNotFoundError } from './store.ts';

/** Version of the layout below, kept in the table's comment; bump it with a migration. */
export const PG_SCHEMA_VERSION = 2;

/**
 * The CHECK constraints of schema 2, by name: what the CREATE TABLE declares and what a
 * migration adds. Verify compares the table's constraints with these.
 */
export const PG_CONSTRAINTS: ReadonlyArray<readonly [name: string, check: string]> = [
  ['modelship_seq_min', 'seq >= 1'],
  ['modelship_attempt_min', 'attempt >= 1'],
  ['modelship_hash_hex', "hash ~ '^[0-9a-f]{64}$'"],
  ['modelship_prev_hash_hex', "prev_hash ~ '^[0-9a-f]{64}$'"],
  [
    'modelship_text_present',
    "time <> '' AND kind <> '' AND model <> '' AND environment <> '' AND git_commit <> '' AND " +
      "workflow_id <> '' AND run_id <> '' AND step <> '' AND actor <> '' AND activity_id <> ''",
  ],
];

/** Table used when no `table` option is given. */
export const DEFAULT_AUDIT_TABLE = 'audit_log';

const COMMENT_PREFIX = 'modelship audit log, schema ';

// Lower case only: an unquoted name in psql folds to lower case, so a mixed-case table would be
// one nobody can find by typing its name. 40 characters leave room for the index suffixes
// within PostgreSQL's 63-byte identifiers.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** The triggers every audit table has: row-level UPDATE/DELETE refusal, and TRUNCATE refusal. */
export const TRIGGERS = ['modelship_append_only', 'modelship_no_truncate'];

/** The audit table as the store uses it in SQL and in messages. */
export interface AuditTable {
  schema: string;
  name: string;
  /** Quoted and schema-qualified, for SQL text. */
  sql: string;
  /** `schema.name`, for messages. */
  label: string;
  /** Key of the transaction-scoped advisory lock every append to this table takes. */
  appendLockKey: string;
}

/** Splits and checks a `table` or `schema.table` option; throws naming the rule it breaks. */
function parseTableName(table: string): { schema: string | undefined; name: string } {
  const parts = table.split('.');
  const [first, second] = parts;
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part)) || first === undefined) {
    throw new AuditStoreError(
      `audit table name "${table}" must be "name" or "schema.name", each part lower-case letters, ` +
        'digits and underscores, at most 40 characters',
    );
  }
  return second === undefined ? { schema: undefined, name: first } : { schema: first, name: second };
}

/**
 * A 64-bit advisory lock key, as the decimal text `pg_advisory_xact_lock(bigint)` takes. Derived
 * from a hash so that every process computes the same key with no coordination, and unrelated
 * users of advisory locks in the same database are unlikely to collide with it.
 */
function advisoryLockKey(purpose: string): string {
  return createHash('sha256').update(`modelship:${purpose}`).digest().readBigInt64BE(0).toString();
}

/** The key appends to `schema.name` lock (for tests and for finding a holder in `pg_locks`). */
export function appendLockKey(schema: string, name: string): string {
  return advisoryLockKey(`audit-append:${schema}.${name}`);
}

// One key for creating any audit table: DDL happens once per table, so sharing costs nothing,
// and the trigger function it creates is shared by every audit table of a schema.
const DDL_LOCK_KEY = advisoryLockKey('audit-ddl');

interface TableState {
  exists: boolean;
  comment: string | null;
  triggers: number;
  constraints: number;
}

/** The schema version a table's comment states, undefined when it is not an audit table's comment. */
export function versionFromComment(comment: string | null): number | undefined {
  if (!comment?.startsWith(COMMENT_PREFIX)) return undefined;
  const version = Number(comment.slice(COMMENT_PREFIX.length));
  return Number.isInteger(version) ? version : undefined;
}

/**
 * Finds the audit table (resolving an unqualified name against `search_path` once, so every
 * process agrees on the lock key), creating it, its indexes and its triggers unless `mustExist`.
 * Creation runs under an advisory lock: several workers starting at once against an empty
 * database would otherwise race in the catalog (`CREATE TABLE IF NOT EXISTS` is not safe
 * against itself). A table that is already complete is never touched, so a role with only
 * SELECT and INSERT on it can append.
 */
export async function ensureAuditTable(
  client: pg.PoolClient,
  requested: string,
  mustExist: boolean,
  where: string,
): Promise<AuditTable> {
  const { schema: wanted, name } = parseTableName(requested);
  const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = wanted ?? current.rows[0]?.schema;
  if (!schema) {
    throw new AuditStoreError(`no schema on the search_path of ${where} exists to hold ${name}`);
  }
  const table: AuditTable = {
    schema,
    name,
    sql: `"${schema}"."${name}"`,
    label: `${schema}.${name}`,
    appendLockKey: appendLockKey(schema, name),
  };
  const state = await readState(client, table);
  const version = checkOurs(state, table, where);
  // A dropped trigger or constraint comes back the next time a writer opens the table.
  const complete =
    version === PG_SCHEMA_VERSION &&
    state.triggers === TRIGGERS.length &&
    state.constraints === PG_CONSTRAINTS.length;
  if (state.exists && (mustExist || complete)) return table;
  if (mustExist) {
    throw new AuditStoreNotFoundError(
      `${table.label} on ${where}`,
      'MODELSHIP_AUDIT_URL / --url points elsewhere',
    );
  }
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${DDL_LOCK_KEY})`);
    // Another process may have created it (or someone else's table) while we waited.
    checkOurs(await readState(client, table), table, where);
    await client.query(createTableSql(table));
    await validateConstraints(client, table);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (!state.exists) throw error;
    // An existing table stays usable as it is (say the role may only SELECT and INSERT).
    process.emitWarning(
      `audit table ${table.label} on ${where} keeps schema ${version}: bringing it to schema ${PG_SCHEMA_VERSION} ` +
        `failed (${(error as Error).message}); a role that owns the table can migrate it by opening it once`,
    );
  }
  return table;
}

/**
 * Validates the constraints a migration added NOT VALID, each on its own: one that old rows
 * break stays NOT VALID (still enforced on new rows), and verify reports those rows.
 */
async function validateConstraints(client: pg.PoolClient, table: AuditTable): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    'SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND NOT convalidated AND conname = ANY($2)',
    [table.sql, PG_CONSTRAINTS.map(([name]) => name)],
  );
  for (const { name } of rows) {
    await client.query('SAVEPOINT modelship_validate');
    try {
      await client.query(`ALTER TABLE ${table.sql} VALIDATE CONSTRAINT ${name}`);
      await client.query('RELEASE SAVEPOINT modelship_validate');
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT modelship_validate');
    }
  }
}

async function readState(client: pg.PoolClient, table: AuditTable): Promise<TableState> {
  const result = await client.query<TableState>(
    `SELECT oid IS NOT NULL AS exists, obj_description(oid, 'pg_class') AS comment,
       (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = oid AND tgname = ANY($2)) AS triggers,
       (SELECT count(*)::int FROM pg_constraint WHERE conrelid = oid AND conname = ANY($3)) AS constraints
     FROM (SELECT to_regclass($1) AS oid) AS target`,
    [table.sql, TRIGGERS, PG_CONSTRAINTS.map(([name]) => name)],
  );
  return result.rows[0] ?? { exists: false, comment: null, triggers: 0, constraints: 0 };
}

/**
 * Refuses a table that is not an audit log, or one laid out by a newer modelship; returns the
 * table's schema version (0 when there is no table yet).
 */
function checkOurs(state: TableState, table: AuditTable, where: string): number {
  if (!state.exists) return 0;
  const version = versionFromComment(state.comment);
  if (version === undefined) {
    throw new AuditStoreError(
      `${table.label} on ${where} exists but is not a modelship audit log (its comment does not say so)`,
    );
  }
  if (version > PG_SCHEMA_VERSION) {
    throw new AuditStoreError(
      `${table.label} on ${where} was written by a newer modelship (schema ${version})`,
    );
  }
  return version;
}

/**
 * Idempotent DDL for `table`, which also migrates a schema 1 table. Columns hold exactly the
 * text that was hashed: `time` stays TEXT (a timestamptz would come back reformatted) and `data`
 * stays TEXT (jsonb would reorder keys). The triggers and constraints stop accidents — a person
 * or a tool "fixing" a row — not attackers: whoever can disable a trigger or drop a constraint
 * can edit rows, which is what the hash chain and verify's census of the table are for.
 */
function createTableSql(table: AuditTable): string {
  const fn = `"${table.schema}".modelship_audit_append_only`;
  const inline = PG_CONSTRAINTS.map(([name, check]) => `,\n  CONSTRAINT ${name} CHECK (${check})`).join('');
  const added = PG_CONSTRAINTS.map(
    ([name, check]) => `
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '${table.sql}'::regclass AND conname = '${name}') THEN
    ALTER TABLE ${table.sql} ADD CONSTRAINT ${name} CHECK (${check}) NOT VALID;
  END IF;`,
  ).join('');
  return `
CREATE TABLE IF NOT EXISTS ${table.sql} (
  seq BIGINT PRIMARY KEY,
  time TEXT NOT NULL,
  kind TEXT NOT NULL,
  model TEXT NOT NULL,
  environment TEXT NOT NULL,
  git_commit TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  activity_id TEXT,
  attempt INTEGER,
  actor TEXT NOT NULL,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL${inline}
);
CREATE INDEX IF NOT EXISTS "${table.name}_model_idx" ON ${table.sql} (model, environment);
CREATE INDEX IF NOT EXISTS "${table.name}_workflow_idx" ON ${table.sql} (workflow_id);
COMMENT ON TABLE ${table.sql} IS '${COMMENT_PREFIX}${PG_SCHEMA_VERSION}';
DO $do$ BEGIN
  -- Shared by the audit tables of a schema and perhaps owned by another role: create, never replace.
  IF to_regprocedure('${fn}()') IS NULL THEN
    CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN RAISE EXCEPTION 'the audit log is append-only (% refused on %)', TG_OP, TG_TABLE_NAME; END
    $fn$;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '${table.sql}'::regclass AND tgname = '${TRIGGERS[0]}') THEN
    CREATE TRIGGER ${TRIGGERS[0]} BEFORE UPDATE OR DELETE ON ${table.sql}
      FOR EACH ROW EXECUTE FUNCTION ${fn}();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '${table.sql}'::regclass AND tgname = '${TRIGGERS[1]}') THEN
    CREATE TRIGGER ${TRIGGERS[1]} BEFORE TRUNCATE ON ${table.sql}
      FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
  END IF;${added}
END $do$;
`;
}
