/**
 * What node-sqlite3-wasm does about locking, pinned down so an upgrade that changes it is noticed:
 * its VFS locks with a `<file>.lock` directory (mkdir), every lock is exclusive, a crashed holder
 * leaves the directory behind, and WAL is unavailable. The store copes: appends wait for the lock
 * without blocking the event loop, and writers in several processes never fork the chain.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sqlite from 'node-sqlite3-wasm';
import { describe, expect, it } from 'vitest';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { sampleEvent, tempDir } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./fixtures/sqlite-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function child(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

async function exitCode(process: ChildProcess): Promise<number | null> {
  const [code] = (await once(process, 'exit')) as [number | null];
  return code;
}

/** Resolves on the child's first line of output; rejects if it exits first (no hanging test). */
async function firstLine(process: ChildProcess, exited: Promise<number | null>): Promise<string> {
  const line = once(process.stdout as NodeJS.ReadableStream, 'data').then(([data]) => String(data));
  const died = exited.then((code) => Promise.reject(new Error(`child exited with ${code} before writing`)));
  return Promise.race([line, died]);
}

async function newStorePath(): Promise<string> {
  const path = join(await tempDir(), 'audit.db');
  await (await openSqliteAuditStore(path)).close();
  return path;
}

describe('node-sqlite3-wasm locking, as the store relies on it', () => {
  it('locks with a directory beside the file, and even a reader is shut out while a writer holds it', async () => {
    const path = await newStorePath();
    const writer = new sqlite.Database(path);
    const reader = new sqlite.Database(path);
    try {
      writer.exec('BEGIN IMMEDIATE');
      expect(existsSync(`${path}.lock`)).toBe(true);
      expect(() => reader.all('SELECT count(*) FROM audit_log')).toThrow('database is locked');
      writer.exec('COMMIT');
      expect(existsSync(`${path}.lock`)).toBe(false);
      expect(reader.all('SELECT count(*) AS n FROM audit_log')).toEqual([{ n: 0 }]);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it('has no WAL: the journal stays a rollback journal', async () => {
    const path = await newStorePath();
    const db = new sqlite.Database(path);
    try {
      expect(db.all('PRAGMA journal_mode = WAL')).toEqual([{ journal_mode: 'delete' }]);
    } finally {
      db.close();
    }
  });

  it('an append waits for another connection’s lock without blocking the event loop', async () => {
    const path = await newStorePath();
    const other = new sqlite.Database(path);
    const store = await openSqliteAuditStore(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      let ticks = 0;
      const ticker = setInterval(() => (ticks += 1), 5);
      const released = new Promise<void>((resolve) =>
        setTimeout(() => {
          other.exec('COMMIT');
          resolve();
        }, 150),
      );
      const record = await store.append(sampleEvent());
      await released;
      clearInterval(ticker);
      expect(record.seq).toBe(1);
      expect(ticks).toBeGreaterThan(5);
    } finally {
      await store.close();
      other.close();
    }
  });

  it('gives up after lockTimeoutMs, naming the lock directory to remove if its holder is gone', async () => {
    const path = await newStorePath();
    const other = new sqlite.Database(path);
    const store = await openSqliteAuditStore(path, { lockTimeoutMs: 100 });
    try {
      other.exec('BEGIN IMMEDIATE');
      await expect(store.append(sampleEvent())).rejects.toThrow(`remove the directory ${path}.lock`);
      other.exec('ROLLBACK');
      expect((await store.append(sampleEvent())).seq).toBe(1);
    } finally {
      await store.close();
      other.close();
    }
  });

  it('a process killed inside a transaction leaves the lock behind; once removed, its write is rolled back', async () => {
    const path = await newStorePath();
    const store = await openSqliteAuditStore(path, { lockTimeoutMs: 200 });
    try {
      await store.append(sampleEvent());
      const holder = child('hold', path);
      const exited = exitCode(holder);
      expect(await firstLine(holder, exited)).toContain('holding');
      holder.kill('SIGKILL');
      await exited;
      await expect(store.append(sampleEvent())).rejects.toThrow(/stayed locked/);
      await rmdir(`${path}.lock`);
      expect((await store.append(sampleEvent())).seq).toBe(2);
      expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 2 } });
      expect((await store.list()).map((record) => record.actor)).not.toContain('half-written');
    } finally {
      await store.close();
    }
  });

  it('a lock left by a killed process is removed once it is older than any transaction, and the write rolled back', async () => {
    const path = await newStorePath();
    const store = await openSqliteAuditStore(path, { lockTimeoutMs: 5_000, staleLockMs: 1_000 });
    try {
      await store.append(sampleEvent());
      const holder = child('hold', path);
      const exited = exitCode(holder);
      expect(await firstLine(holder, exited)).toContain('holding');
      holder.kill('SIGKILL');
      await exited;
      // A fresh lock is respected; once it is older than staleLockMs the store takes over.
      const started = Date.now();
      expect((await store.append(sampleEvent())).seq).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(existsSync(`${path}.lock`)).toBe(false);
      expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 2 } });
      expect((await store.list()).map((record) => record.actor)).not.toContain('half-written');
    } finally {
      await store.close();
    }
  });

  it('several processes appending to one file at once leave one gapless, valid chain', async () => {
    const path = await newStorePath();
    const children = ['p1', 'p2', 'p3'].map((label) => child('append', path, '40', label));
    const exits = children.map(exitCode);
    const store = await openSqliteAuditStore(path, { lockTimeoutMs: 30_000 });
    try {
      await Promise.all(children.map((c, i) => firstLine(c, exits[i] as Promise<number | null>)));
      for (const c of children) c.stdin?.end('go\n');
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.append(sampleEvent({ actor: 'worker:p0', activityId: `p0-${i}` })),
        ),
      );
      expect(await Promise.all(exits)).toEqual([0, 0, 0]);
      expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 160 } });
      const records = await store.list();
      const actors = new Set(records.map((record) => record.actor));
      expect(actors).toEqual(new Set(['worker:p0', 'worker:p1', 'worker:p2', 'worker:p3']));
      // Interleaved, not one process after another: the lock really was contended.
      const switches = records.filter((record, i) => i > 0 && record.actor !== records[i - 1]?.actor).length;
      expect(switches).toBeGreaterThan(3);
    } finally {
      await store.close();
    }
  });
});
