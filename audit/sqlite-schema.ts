/**
 * The SQLite layout of the audit log, and the way an older file is brought to it.
 *
 * Schema 2 refuses rows that cannot belong to a chain: a STRICT table (no text in an INTEGER
 * column, no blob in a TEXT one) whose CHECK constraints require seq >= 1, an attempt >= 1,
 * non-empty texts, a JSON object in `data` and lowercase hex hashes. Like the triggers, the
 * constraints stop accidents and careless tools, not an attacker: whoever can write the file can
 * rebuild the table without them. That is why verify does not trust them either, and counts
 * every row of the table whatever it holds (`census.ts`).
 *
 * Schema 1 (until this version) had the same columns without constraints. SQLite cannot add a
 * CHECK to a table, so the first writer to open such a file rebuilds the table inside the
 * transaction that opens it (rename, create, copy every row verbatim, drop the old one). A file
 * whose rows do not all fit — a stray row is already in it — is left exactly as it is, with a
 * warning: refusing to open it would stop every worker, and verify reports those rows.
 */
import sqlite from 'node-sqlite3-wasm';

type Database = InstanceType<typeof sqlite.Database>;

/** `PRAGMA user_version` of the layout below; bump it with a migration. */
export const SCHEMA_VERSION = 2;

/** The audit table's name in the file. */
export const AUDIT_TABLE = 'audit_log';

const HEX_64 = (column: string) => `length(${column}) = 64 AND ${column} NOT GLOB '*[^0-9a-f]*'`;

// `IF NOT EXISTS` is dropped by SQLite from the text it keeps in sqlite_master, so the stored
// text of a table created here is comparable with a fresh one's (see `referenceObjects`).
const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
  time TEXT NOT NULL CHECK (time GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*'),
  kind TEXT NOT NULL CHECK (kind <> ''),
  model TEXT NOT NULL CHECK (model <> ''),
  environment TEXT NOT NULL CHECK (environment <> ''),
  git_commit TEXT NOT NULL CHECK (git_commit <> ''),
  workflow_id TEXT NOT NULL CHECK (workflow_id <> ''),
  run_id TEXT NOT NULL CHECK (run_id <> ''),
  step TEXT NOT NULL CHECK (step <> ''),
  activity_id TEXT CHECK (activity_id <> ''),
  attempt INTEGER CHECK (attempt >= 1),
  actor TEXT NOT NULL CHECK (actor <> ''),
  data TEXT NOT NULL CHECK (json_valid(data) AND json_type(data) = 'object'),
  prev_hash TEXT NOT NULL CHECK (${HEX_64('prev_hash')}),
  hash TEXT NOT NULL CHECK (${HEX_64('hash')})
) STRICT;`;

// The triggers stop accidents (a tool or a person "fixing" a row), not attackers: whoever can
// drop a trigger can edit the file, which is what the hash chain is for. Re-run on every open by
// a writer, so a dropped trigger or index comes back.
const CREATE_INDEXES_AND_TRIGGERS = `
CREATE INDEX IF NOT EXISTS audit_log_model ON audit_log (model, environment);
CREATE INDEX IF NOT EXISTS audit_log_workflow ON audit_log (workflow_id);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`;

/** The whole layout of a new file. */
export const CREATE_SCHEMA = `${CREATE_TABLE}${CREATE_INDEXES_AND_TRIGGERS}
PRAGMA user_version = ${SCHEMA_VERSION};`;

const COLUMNS =
  'seq, time, kind, model, environment, git_commit, workflow_id, run_id, step, activity_id, attempt, actor, data, prev_hash, hash';

// Indexes and triggers keep their names when their table is renamed, so they are dropped first
// and created again on the new table. Every row is copied as stored: hashes cover the values.
const MIGRATE_FROM_V1 = `
DROP TRIGGER IF EXISTS audit_log_no_update;
DROP TRIGGER IF EXISTS audit_log_no_delete;
DROP INDEX IF EXISTS audit_log_model;
DROP INDEX IF EXISTS audit_log_workflow;
ALTER TABLE audit_log RENAME TO audit_log_schema1;
${CREATE_TABLE}
INSERT INTO audit_log (${COLUMNS}) SELECT ${COLUMNS} FROM audit_log_schema1 ORDER BY seq;
DROP TABLE audit_log_schema1;
${CREATE_INDEXES_AND_TRIGGERS}
PRAGMA user_version = ${SCHEMA_VERSION};`;

/** The layout version a file says it has (0 for a file that never set one). */
export function schemaVersionOf(db: Database): number {
  const version = db.get('PRAGMA user_version')?.user_version;
  return typeof version === 'number' ? version : 0;
}

/** Whether the file holds the audit table. */
export function hasAuditTable(db: Database): boolean {
  return (
    db.get("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?", [AUDIT_TABLE]) !== null
  );
}

/**
 * Brings the file to {@link SCHEMA_VERSION}: creates the layout in an empty file, migrates a
 * schema 1 table, restores dropped indexes and triggers. Runs inside the caller's write
 * transaction, so a concurrent opener sees either the old layout or the new one. Returns a
 * warning for a person when an old table had to be left as it was.
 */
export function ensureSchema(db: Database): string | undefined {
  if (!hasAuditTable(db)) {
    db.exec(CREATE_SCHEMA);
    return undefined;
  }
  if (schemaVersionOf(db) >= SCHEMA_VERSION) {
    db.exec(CREATE_INDEXES_AND_TRIGGERS);
    return undefined;
  }
  db.exec('SAVEPOINT audit_migrate');
  try {
    db.exec(MIGRATE_FROM_V1);
    db.exec('RELEASE audit_migrate');
    return undefined;
  } catch (error) {
    // Whatever stopped the copy (a row the constraints refuse, an object in the way), the old
    // table is restored untouched and stays usable.
    db.exec('ROLLBACK TO audit_migrate; RELEASE audit_migrate');
    db.exec(CREATE_INDEXES_AND_TRIGGERS);
    return (
      `kept its schema 1 layout, without the constraints of schema ${SCHEMA_VERSION}: ` +
      `${(error as Error).message}; run \`modelship audit verify\` to see the rows that do not fit`
    );
  }
}

/** One object of the schema as sqlite_master keeps it. */
export interface SchemaObject {
  type: string;
  name: string;
  sql: string | null;
}

let reference: Map<string, SchemaObject> | undefined;

/**
 * The objects (table, indexes, triggers) a file of the current layout holds, keyed by name, with
 * the exact text SQLite stores for each: built once in an in-memory database from
 * {@link CREATE_SCHEMA}, so the comparison does not depend on how SQLite normalises that text.
 */
export function referenceObjects(): ReadonlyMap<string, SchemaObject> {
  if (reference) return reference;
  const memory = new sqlite.Database();
  try {
    memory.exec(CREATE_SCHEMA);
    reference = new Map(readObjects(memory).map((object): [string, SchemaObject] => [object.name, object]));
  } finally {
    memory.close();
  }
  return reference;
}

/** The file's own objects, leaving out SQLite's internal ones (automatic indexes, statistics). */
export function readObjects(db: Database): SchemaObject[] {
  return db
    .all(
      "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .map((row) => ({
      type: String(row.type),
      name: String(row.name),
      sql: row.sql === null ? null : String(row.sql),
    }));
}
