/**
 * Several processes appending to one PostgreSQL audit table: the advisory lock keeps one gapless
 * chain, waits are bounded by lockTimeoutMs, and a writer that dies mid-append releases the lock
 * (its connection goes, and the lock with it), where SQLite's lock directory would stay behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appendLockKey, openPostgresAuditStore } from '../../audit/postgres-store.ts';
import { sampleEvent } from './helpers.ts';
import { TEST_POSTGRES_URL, usePostgres } from './postgres-helpers.ts';

const CHILD = fileURLToPath(new URL('./fixtures/postgres-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const db = usePostgres();

function child(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: ROOT,
    env: { ...process.env, MODELSHIP_TEST_POSTGRES_URL: TEST_POSTGRES_URL },
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

/** A created, empty audit table and its lock key. */
async function newTable(): Promise<{ table: string; key: string }> {
  const table = db.table();
  await (await openPostgresAuditStore(TEST_POSTGRES_URL, { table })).close();
  const [schema = '', name = ''] = table.split('.');
  return { table, key: appendLockKey(schema, name) };
}

describe('PostgreSQL audit store across processes', () => {
  it('four processes appending at once leave one gapless, valid chain', async () => {
    const { table } = await newTable();
    const labels = ['p1', 'p2', 'p3', 'p4'];
    const children = labels.map((label) => child('append', table, '50', label));
    const exits = children.map(exitCode);
    await Promise.all(children.map((c, i) => firstLine(c, exits[i] as Promise<number | null>)));
    for (const c of children) c.stdin?.end('go\n');
    expect(await Promise.all(exits)).toEqual([0, 0, 0, 0]);

    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, mustExist: true });
    try {
      expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 200, headSeq: 200 } });
      const records = await store.list();
      expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      // Each process's own records in the order it appended them.
      for (const label of labels) {
        const mine = records.filter((record) => record.actor === `worker:${label}`);
        expect(mine.map((record) => record.activityId)).toEqual(
          Array.from({ length: 50 }, (_, i) => `${label}-${i}`),
        );
      }
      // Interleaved, not one process after another: the lock really was contended.
      const switches = records.filter((record, i) => i > 0 && record.actor !== records[i - 1]?.actor).length;
      expect(switches).toBeGreaterThan(3);
    } finally {
      await store.close();
    }
  });

  it('an append waits while another session holds the lock, and gives up after lockTimeoutMs', async () => {
    const { table, key } = await newTable();
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, lockTimeoutMs: 1_000 });
    try {
      await db.sql(`BEGIN; SELECT pg_advisory_xact_lock(${key})`);
      const waiting = Promise.all(Array.from({ length: 6 }, () => store.append(sampleEvent())));
      let settled = false;
      void waiting.then(() => (settled = true)).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(settled).toBe(false);
      // Only one pooled connection waits for the lock; the others still answer reads.
      expect(await store.head()).toMatchObject({ seq: 0 });
      await db.sql('COMMIT');
      expect((await waiting).map((record) => record.seq)).toEqual([1, 2, 3, 4, 5, 6]);

      await db.sql(`BEGIN; SELECT pg_advisory_xact_lock(${key})`);
      await expect(store.append(sampleEvent())).rejects.toThrow(
        /waited more than 1000 ms for a lock another session holds/,
      );
      await db.sql('ROLLBACK');
      expect((await store.append(sampleEvent())).seq).toBe(7);
      expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 7 } });
    } finally {
      await db.sql('ROLLBACK').catch(() => undefined);
      await store.close();
    }
  });

  it('a process killed while holding the lock releases it, and its half-written row never appears', async () => {
    const { table } = await newTable();
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, lockTimeoutMs: 10_000 });
    try {
      await store.append(sampleEvent());
      const holder = child('hold', table);
      const exited = exitCode(holder);
      expect(await firstLine(holder, exited)).toContain('holding');
      const blocked = store.append(sampleEvent());
      let settled = false;
      void blocked.then(() => (settled = true)).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(settled).toBe(false);
      holder.kill('SIGKILL');
      await exited;
      expect((await blocked).seq).toBe(2);
      expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 2 } });
      expect((await store.list()).map((record) => record.actor)).not.toContain('half-written');
    } finally {
      await store.close();
    }
  });
});
