/** Shared set-up for the audit tests: temporary stores, sample events, raw access to the file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { afterEach } from 'vitest';
import type { AuditRecord } from '../../audit/record.ts';
import { toParams } from '../../audit/sqlite-rows.ts';

export { sampleEvent } from './fixtures/sample-event.ts';

const dirs: string[] = [];

/** A fresh temporary directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-audit-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * Runs SQL against the file as an attacker with write access would: a separate connection,
 * triggers dropped first (they only guard against accidents).
 */
export function tamper(path: string, sql: string): void {
  const db = new sqlite.Database(path, { fileMustExist: true });
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
    db.exec(sql);
  } finally {
    db.close();
  }
}

/**
 * Rebuilds `audit_log` without its constraints (plain columns, no STRICT), keeping every row, as
 * an attacker with the file can: the first step to storing rows the schema refuses.
 */
export function dropConstraints(path: string): void {
  tamper(
    path,
    `DROP INDEX audit_log_model; DROP INDEX audit_log_workflow;
     ALTER TABLE audit_log RENAME TO audit_log_constrained;
     CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time TEXT, kind TEXT, model TEXT, environment TEXT,
       git_commit TEXT, workflow_id TEXT, run_id TEXT, step TEXT, activity_id TEXT, attempt INTEGER,
       actor TEXT, data TEXT, prev_hash TEXT, hash TEXT);
     INSERT INTO audit_log SELECT * FROM audit_log_constrained;
     DROP TABLE audit_log_constrained;`,
  );
}

/**
 * Inserts a copy of `record` at `seq` (a number, or SQL such as `NULL` or `'7'`) on a separate
 * connection: a row written behind modelship's back (the triggers refuse only UPDATE and DELETE).
 */
export function insertRow(path: string, record: AuditRecord, seq: number | string): void {
  const params = toParams(record);
  const values = Object.keys(params).map((name) => (name === ':seq' ? String(seq) : name));
  const db = new sqlite.Database(path, { fileMustExist: true });
  try {
    db.run(
      `INSERT INTO audit_log (seq, time, kind, model, environment, git_commit, workflow_id, run_id, step,
         activity_id, attempt, actor, data, prev_hash, hash) VALUES (${values.join(', ')})`,
      Object.fromEntries(Object.entries(params).filter(([name]) => name !== ':seq')),
    );
  } finally {
    db.close();
  }
}
