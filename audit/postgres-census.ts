/**
 * The census of `census.ts` for a PostgreSQL table: the whole table counted in one statement,
 * the stray rows listed, and the table's definition compared with the one this version creates.
 *
 * Besides rows, PostgreSQL has ways to make a table show or keep something other than what was
 * appended, each reported: a rule or a trigger of someone else's (either can rewrite or drop an
 * INSERT), row-level security (hides rows from the reader, so a count would lie), a table that
 * inherits from the audit table (its rows are read as audit rows), and a relation of the same
 * name earlier on another reader's search_path.
 */
import type pg from 'pg';
import { type Finding, STRAY_LIST_LIMIT, type StrayRow, strayReason, type TableCounts } from './census.ts';
import {
  type AuditTable,
  PG_CONSTRAINTS,
  PG_SCHEMA_VERSION,
  TRIGGERS,
  versionFromComment,
} from './postgres-schema.ts';
import { AUDIT_COLUMNS } from './rows.ts';

type Db = pg.Pool | pg.PoolClient;

/** Counts every row of the table against the walk's last verified seq `head`. */
export async function countTable(db: Db, table: AuditTable, head: number): Promise<TableCounts> {
  const { rows } = await db.query<Record<string, string | null>>(
    `SELECT count(*) AS rows,
       count(*) FILTER (WHERE seq BETWEEN 1 AND $1) AS in_range,
       count(DISTINCT seq) FILTER (WHERE seq BETWEEN 1 AND $1) AS distinct_in_range,
       count(*) FILTER (WHERE seq > $1) AS beyond,
       min(seq) AS min_seq, max(seq) AS max_seq
     FROM ${table.sql}`,
    [head],
  );
  const row = rows[0] ?? {};
  const number = (value: string | null | undefined) =>
    value === null || value === undefined ? null : Number(value);
  return {
    rows: number(row.rows) ?? 0,
    inRange: number(row.in_range) ?? 0,
    distinctInRange: number(row.distinct_in_range) ?? 0,
    beyond: number(row.beyond) ?? 0,
    minSeq: number(row.min_seq),
    maxSeq: number(row.max_seq),
  };
}

/** The first stray rows: seq NULL or below 1, then second copies of a seq. */
export async function listStrays(db: Db, table: AuditTable): Promise<StrayRow[]> {
  const outside = await db.query<{ seq: string | null }>(
    `SELECT seq::text AS seq FROM ${table.sql} WHERE seq IS NULL OR seq < 1 ORDER BY seq NULLS FIRST LIMIT $1`,
    [STRAY_LIST_LIMIT],
  );
  const copies = await db.query<{ seq: string; copies: string }>(
    `SELECT seq::text AS seq, count(*) AS copies FROM ${table.sql} WHERE seq >= 1
     GROUP BY seq HAVING count(*) > 1 ORDER BY seq LIMIT $1`,
    [STRAY_LIST_LIMIT],
  );
  return [
    ...outside.rows.map(({ seq }) =>
      seq === null
        ? { seq: 'NULL', reason: strayReason('NULL', 'null') }
        : { seq, reason: strayReason(seq, 'integer') },
    ),
    ...copies.rows.map(({ seq, copies: n }) => ({ seq, reason: strayReason(seq, 'integer', Number(n)) })),
  ].slice(0, STRAY_LIST_LIMIT);
}

/** The column types schema 2 declares, as `format_type` prints them. */
const COLUMN_TYPES: Readonly<Record<string, string>> = Object.fromEntries(
  AUDIT_COLUMNS.map((column) => [
    column,
    column === 'seq' ? 'bigint' : column === 'attempt' ? 'integer' : 'text',
  ]),
);

/** How the table differs from the layout this version creates; see the module comment. */
export async function checkLayout(db: Db, table: AuditTable): Promise<Finding[]> {
  const findings: Finding[] = [];
  const { rows: classes } = await db.query<{ kind: string; rls: boolean; comment: string | null }>(
    `SELECT relkind AS kind, relrowsecurity AS rls, obj_description(oid, 'pg_class') AS comment
     FROM pg_class WHERE oid = $1::regclass`,
    [table.sql],
  );
  const info = classes[0];
  const version = versionFromComment(info?.comment ?? null) ?? 0;
  if (version < PG_SCHEMA_VERSION) {
    findings.push({
      level: 'warning',
      message:
        `the table has schema ${version}, without the CHECK constraints of schema ${PG_SCHEMA_VERSION}; ` +
        'a worker whose role owns the table migrates it when it opens it',
    });
  }
  if (info && info.kind !== 'r') {
    findings.push({
      level: 'problem',
      message: `${table.label} is not a plain table (relkind ${info.kind})`,
    });
  }
  if (info?.rls) {
    findings.push({
      level: 'problem',
      message:
        'row-level security is enabled on the table: rows may be hidden from this reader, and from the count',
    });
  }
  findings.push(...(await checkColumns(db, table)));
  findings.push(...(await checkConstraints(db, table, version)));
  findings.push(...(await checkTriggersAndRules(db, table)));
  findings.push(...(await checkNeighbours(db, table)));
  return findings;
}

async function checkColumns(db: Db, table: AuditTable): Promise<Finding[]> {
  const { rows } = await db.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [table.sql],
  );
  const findings: Finding[] = [];
  for (const { name, type } of rows) {
    const expected = COLUMN_TYPES[name];
    if (expected === undefined) {
      const filled = await db.query<{ n: string }>(
        `SELECT count("${name.replaceAll('"', '""')}") AS n FROM ${table.sql}`,
      );
      findings.push({
        level: 'problem',
        message: `column ${name} is not part of the audit layout (${Number(filled.rows[0]?.n ?? 0)} rows hold a value the chain does not cover)`,
      });
    } else if (type !== expected) {
      findings.push({ level: 'problem', message: `column ${name} is ${type}, not ${expected}` });
    }
  }
  const present = new Set(rows.map((row) => row.name));
  for (const column of AUDIT_COLUMNS) {
    if (!present.has(column)) findings.push({ level: 'problem', message: `column ${column} is missing` });
  }
  const { rows: keys } = await db.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = $1::regclass AND i.indisprimary`,
    [table.sql],
  );
  if (keys.length !== 1 || keys[0]?.name !== 'seq') {
    findings.push({
      level: 'problem',
      message: 'seq is not the primary key any more: two rows may share a seq, or a seq may be NULL',
    });
  }
  return findings;
}

async function checkConstraints(db: Db, table: AuditTable, version: number): Promise<Finding[]> {
  const { rows } = await db.query<{ name: string; validated: boolean; def: string }>(
    `SELECT conname AS name, convalidated AS validated, pg_get_constraintdef(oid) AS def
     FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`,
    [table.sql],
  );
  const found = new Map(rows.map((row) => [row.name, row]));
  const findings: Finding[] = [];
  for (const [name, check] of PG_CONSTRAINTS) {
    const constraint = found.get(name);
    if (!constraint) {
      // A schema 1 table never had them; the version warning says so once.
      if (version >= PG_SCHEMA_VERSION) {
        findings.push({
          level: 'problem',
          message: `constraint ${name} (${check}) is missing (dropped by hand?)`,
        });
      }
    } else if (normalise(constraint.def) !== normalise(`CHECK (${check})`)) {
      findings.push({
        level: 'problem',
        message: `constraint ${name} is not ${check} but ${constraint.def}`,
      });
    } else if (!constraint.validated) {
      findings.push({
        level: 'warning',
        message: `constraint ${name} is NOT VALID: rows older than it were never checked by the server (the census counts them)`,
      });
    }
  }
  return findings;
}

/**
 * A constraint's text without what the server's deparser adds: parentheses, casts, quotes,
 * spacing, and the NOT VALID of a migrated one (reported on its own).
 */
function normalise(def: string): string {
  return def
    .replace(/\s+NOT VALID$/, '')
    .replaceAll('::text', '')
    .replace(/[()\s"]/g, '');
}

async function checkTriggersAndRules(db: Db, table: AuditTable): Promise<Finding[]> {
  const { rows: triggers } = await db.query<{ name: string; enabled: string }>(
    'SELECT tgname AS name, tgenabled AS enabled FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal',
    [table.sql],
  );
  const findings: Finding[] = [];
  for (const { name, enabled } of triggers) {
    if (!TRIGGERS.includes(name)) {
      findings.push({
        level: 'problem',
        message: `unknown trigger ${name}: a trigger can change or silently drop what is appended`,
      });
    } else if (enabled === 'D') {
      findings.push({
        level: 'warning',
        message: `trigger ${name} is disabled: the table no longer refuses edits`,
      });
    }
  }
  const present = new Set(triggers.map((trigger) => trigger.name));
  for (const name of TRIGGERS) {
    if (!present.has(name)) {
      findings.push({
        level: 'warning',
        message: `trigger ${name} is missing: the table no longer refuses edits`,
      });
    }
  }
  const { rows: rules } = await db.query<{ name: string }>(
    'SELECT rulename AS name FROM pg_rules WHERE schemaname = $1 AND tablename = $2',
    [table.schema, table.name],
  );
  for (const { name } of rules) {
    findings.push({
      level: 'problem',
      message: `rule ${name} on the table can rewrite or drop what is appended`,
    });
  }
  return findings;
}

async function checkNeighbours(db: Db, table: AuditTable): Promise<Finding[]> {
  const { rows: children } = await db.query<{ name: string }>(
    'SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = $1::regclass',
    [table.sql],
  );
  const { rows: shadows } = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = $1 AND n.nspname <> $2 AND n.nspname = ANY(current_schemas(false))`,
    [table.name, table.schema],
  );
  return [
    ...children.map(
      ({ name }): Finding => ({
        level: 'problem',
        message: `table ${name} inherits from the audit table: its rows are read as audit rows`,
      }),
    ),
    ...shadows.map(
      ({ schema }): Finding => ({
        level: 'warning',
        message: `schema ${schema}, also on the search_path, has a relation named ${table.name}: a reader with another search_path may read that one instead`,
      }),
    ),
  ];
}
