/**
 * The census of `census.ts` for a SQLite file: the whole table counted in one statement, the
 * stray rows listed, and the file's layout compared with the one this version creates.
 *
 * `typeof(seq)` is asked explicitly because a table rebuilt by hand (without INTEGER PRIMARY
 * KEY or STRICT) can hold any value in any column: a text '7' compares unlike 7, and the walk
 * reads integer seqs only. Every statement here reads the whole table or the schema, never
 * through an index an attacker could have dropped or altered into hiding rows.
 */
import type sqlite from 'node-sqlite3-wasm';
import { type Finding, STRAY_LIST_LIMIT, type StrayRow, strayReason, type TableCounts } from './census.ts';
import { AUDIT_COLUMNS } from './rows.ts';
import {
  AUDIT_TABLE,
  readObjects,
  referenceObjects,
  SCHEMA_VERSION,
  type SchemaObject,
  schemaVersionOf,
} from './sqlite-schema.ts';

type Database = InstanceType<typeof sqlite.Database>;

const IS_INTEGER = "typeof(seq) = 'integer'";

/** Counts every row of the table against the walk's last verified seq `head`. */
export function countTable(db: Database, head: number): TableCounts {
  const row = db.get(
    `SELECT COUNT(*) AS rows,
       COALESCE(SUM(${IS_INTEGER} AND seq BETWEEN 1 AND :head), 0) AS inRange,
       COUNT(DISTINCT CASE WHEN ${IS_INTEGER} AND seq BETWEEN 1 AND :head THEN seq END) AS distinctInRange,
       COALESCE(SUM(${IS_INTEGER} AND seq > :head), 0) AS beyond,
       MIN(CASE WHEN ${IS_INTEGER} THEN seq END) AS minSeq,
       MAX(CASE WHEN ${IS_INTEGER} THEN seq END) AS maxSeq
     FROM ${AUDIT_TABLE}`,
    { ':head': head },
  );
  return {
    rows: Number(row?.rows ?? 0),
    inRange: Number(row?.inRange ?? 0),
    distinctInRange: Number(row?.distinctInRange ?? 0),
    beyond: Number(row?.beyond ?? 0),
    minSeq: row?.minSeq === null || row?.minSeq === undefined ? null : Number(row.minSeq),
    maxSeq: row?.maxSeq === null || row?.maxSeq === undefined ? null : Number(row.maxSeq),
  };
}

/** The first stray rows: seq outside any chain, then second copies of a seq. */
export function listStrays(db: Database): StrayRow[] {
  const outside = db.all(
    `SELECT quote(seq) AS shown, typeof(seq) AS type FROM ${AUDIT_TABLE}
     WHERE NOT (${IS_INTEGER} AND seq >= 1) ORDER BY ${AUDIT_TABLE}.seq LIMIT :limit`,
    { ':limit': STRAY_LIST_LIMIT },
  );
  const copies = db.all(
    `SELECT seq, COUNT(*) AS copies FROM ${AUDIT_TABLE} WHERE ${IS_INTEGER} AND seq >= 1
     GROUP BY seq HAVING COUNT(*) > 1 ORDER BY seq LIMIT :limit`,
    { ':limit': STRAY_LIST_LIMIT },
  );
  return [
    ...outside.map((row) => ({
      seq: String(row.shown),
      reason: strayReason(String(row.shown), String(row.type)),
    })),
    // Each extra copy is a stray; the listing names the seq once with its number of copies.
    ...copies.map((row) => ({
      seq: String(row.seq),
      reason: strayReason(String(row.seq), 'integer', Number(row.copies)),
    })),
  ].slice(0, STRAY_LIST_LIMIT);
}

/**
 * How the file differs from the layout this version creates: objects that should not be there
 * (a trigger can rewrite or drop appends; another table's rows are outside the chain), objects
 * missing or altered, columns added or missing, and an old schema.
 */
export function checkLayout(db: Database): Finding[] {
  const findings: Finding[] = [];
  const version = schemaVersionOf(db);
  if (version < SCHEMA_VERSION) {
    findings.push({
      level: 'warning',
      message:
        `the file has schema ${version}, without the constraints of schema ${SCHEMA_VERSION} (seq >= 1, STRICT types); ` +
        'a worker migrates it when it opens the file, unless rows in it do not fit',
    });
  }
  const expected = referenceObjects();
  const actual = readObjects(db);
  for (const object of actual) {
    const wanted = expected.get(object.name);
    if (!wanted || wanted.type !== object.type) findings.push(unknownObject(object));
    // A schema 1 table differs by design (no constraints); everything else must match exactly.
    else if (wanted.sql !== object.sql && (object.type !== 'table' || version >= SCHEMA_VERSION)) {
      findings.push({
        level: 'problem',
        message: `${object.type} ${object.name} differs from the layout modelship creates (altered or rebuilt by hand?)`,
      });
    }
  }
  const present = new Set(actual.map((object) => object.name));
  for (const object of expected.values()) {
    if (present.has(object.name)) continue;
    findings.push({
      level: 'warning',
      message:
        object.type === 'trigger'
          ? `trigger ${object.name} is missing, so the file no longer refuses ${object.name.endsWith('update') ? 'UPDATE' : 'DELETE'} (dropped by hand?)`
          : `${object.type} ${object.name} is missing (dropped by hand?)`,
    });
  }
  return [...findings, ...checkColumns(db)];
}

function unknownObject(object: SchemaObject): Finding {
  switch (object.type) {
    case 'trigger':
      return {
        level: 'problem',
        message: `unknown trigger ${object.name}: a trigger can change or silently drop what is appended`,
      };
    case 'index':
      return { level: 'warning', message: `unknown index ${object.name}` };
    default:
      return {
        level: 'problem',
        message: `unknown ${object.type} ${object.name} in the audit file: its rows are not part of the chain`,
      };
  }
}

/** Columns the chain does not cover (with how many rows hold a value there), and missing ones. */
function checkColumns(db: Database): Finding[] {
  const columns = db.all(`PRAGMA table_info(${AUDIT_TABLE})`).map((row) => String(row.name));
  const known = new Set<string>(AUDIT_COLUMNS);
  const findings: Finding[] = [];
  for (const column of columns) {
    if (known.has(column)) continue;
    const filled = db.get(`SELECT COUNT("${column.replaceAll('"', '""')}") AS n FROM ${AUDIT_TABLE}`);
    findings.push({
      level: 'problem',
      message: `column ${column} is not part of the audit layout (${Number(filled?.n ?? 0)} rows hold a value the chain does not cover)`,
    });
  }
  const present = new Set(columns);
  for (const column of AUDIT_COLUMNS) {
    if (!present.has(column)) findings.push({ level: 'problem', message: `column ${column} is missing` });
  }
  return findings;
}
