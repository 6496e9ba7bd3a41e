/** Shared set-up for the audit tests: temporary stores, sample events, raw access to the file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { afterEach } from 'vitest';

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
