/**
 * The SQLite layout refuses rows no chain can hold, and files written by the previous layout
 * (schema 1, no constraints) still open: migrated by the first writer when every row fits,
 * kept as they are (and their strays reported) when not.
 */
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../audit/record.ts';
import { toParams } from '../../audit/sqlite-rows.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { chainOf, INSERT_ROW, writeSchemaV1File } from './fixtures/schema-v1.ts';
import { insertRow, sampleEvent, tempDir } from './helpers.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `fn` on a raw connection to the file, as a person with the sqlite3 shell would. */
function raw<T>(path: string, fn: (db: InstanceType<typeof sqlite.Database>) => T): T {
  const db = new sqlite.Database(path, { fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const version = (path: string) => raw(path, (db) => db.get('PRAGMA user_version')?.user_version);

async function verify(path: string) {
  const store = await openSqliteAuditStore(path, { mustExist: true });
  try {
    return await store.verify();
  } finally {
    await store.close();
  }
}

describe('the audit.db schema', () => {
  it('refuses an INSERT of what cannot belong to a chain', async () => {
    const path = join(await tempDir(), 'audit.db');
    await (await openSqliteAuditStore(path)).close();
    const [record] = chainOf(1) as [AuditRecord];
    const insert = (changes: Record<string, string | number | null>) =>
      raw(path, (db) => db.run(INSERT_ROW, { ...toParams(record), ...changes }));
    expect(() => insert({ ':seq': 0 })).toThrow('CHECK constraint failed: seq >= 1');
    expect(() => insert({ ':seq': -1 })).toThrow('CHECK constraint failed: seq >= 1');
    expect(() => insert({ ':seq': 'seven' })).toThrow(/datatype mismatch/);
    expect(() => insert({ ':hash': 'ABC' })).toThrow(/CHECK constraint failed: length\(hash\) = 64/);
    expect(() => insert({ ':time': null })).toThrow(/NOT NULL constraint failed: audit_log.time/);
    expect(() => insert({ ':data': '[1]' })).toThrow(/CHECK constraint failed: json_valid/);
    expect(() => insert({ ':attempt': 0 })).toThrow('CHECK constraint failed: attempt >= 1');
    expect(() => insert({ ':actor': '' })).toThrow("CHECK constraint failed: actor <> ''");
    insert({});
    expect(await verify(path)).toMatchObject({ ok: true, chain: { count: 1 }, table: { findings: [] } });
  });

  it('a schema 1 file is migrated by the first writer: rows kept as they were, constraints in force', async () => {
    const path = join(await tempDir(), 'audit.db');
    const records = chainOf(4);
    writeSchemaV1File(path, records);
    // A reader never migrates; it verifies the old file and says which schema it has.
    expect(await verify(path)).toMatchObject({
      ok: true,
      chain: { count: 4, headHash: records[3]?.hash },
      table: { findings: [{ level: 'warning', message: expect.stringMatching(/^the file has schema 1/) }] },
    });
    expect(version(path)).toBe(1);

    const store = await openSqliteAuditStore(path);
    expect(await store.list()).toEqual(records);
    expect((await store.append(sampleEvent())).seq).toBe(5);
    await store.close();
    expect(version(path)).toBe(2);
    expect(await verify(path)).toMatchObject({ ok: true, chain: { count: 5 }, table: { findings: [] } });
    expect(() => insertRow(path, records[0] as AuditRecord, 0)).toThrow('CHECK constraint failed: seq >= 1');
  });

  it('a schema 1 file that already holds a stray row still opens, keeps schema 1, and the row is reported', async () => {
    const path = join(await tempDir(), 'audit.db');
    const records = chainOf(4);
    writeSchemaV1File(path, records);
    insertRow(path, records[0] as AuditRecord, 0);
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

    const store = await openSqliteAuditStore(path);
    expect((await store.append(sampleEvent())).seq).toBe(5);
    await store.close();
    expect(warning).toHaveBeenCalledWith(
      expect.stringMatching(
        /^audit log .* kept its schema 1 layout, without the constraints of schema 2: CHECK constraint failed: seq >= 1;/,
      ),
    );
    expect(version(path)).toBe(1);
    expect(await verify(path)).toMatchObject({
      ok: false,
      chain: { ok: true, count: 5 },
      table: { rows: 6, strays: 1, listed: [{ seq: '0' }] },
    });
  });
});
