/**
 * Rows the chain walk never reads — a seq of 0 or below, NULL, text, a real number, a second
 * copy of a seq — and rows it reads only up to a break, written into audit.db behind modelship's
 * back: verify must account for every row of the table, list each stray, and fail.
 */

import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sqlite from 'node-sqlite3-wasm';
import { describe, expect, it } from 'vitest';
import { exportJsonl } from '../../audit/export.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { toParams } from '../../audit/sqlite-rows.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { chainOf, INSERT_ROW } from './fixtures/schema-v1.ts';
import { dropConstraints, insertRow, tamper, tempDir } from './helpers.ts';

/**
 * A file of the current layout holding five valid records, written in one transaction (the
 * census does not care how rows were appended, and one sync is faster than five).
 */
async function fiveRecords(): Promise<{ path: string; records: AuditRecord[] }> {
  const path = join(await tempDir(), 'audit.db');
  await (await openSqliteAuditStore(path)).close();
  const records = chainOf(5);
  const db = new sqlite.Database(path, { fileMustExist: true });
  try {
    db.exec('BEGIN');
    for (const record of records) db.run(INSERT_ROW, toParams(record));
    db.exec('COMMIT');
  } finally {
    db.close();
  }
  return { path, records };
}

async function verify(path: string) {
  const store = await openSqliteAuditStore(path, { mustExist: true });
  try {
    return await store.verify();
  } finally {
    await store.close();
  }
}

const rebuilt = {
  level: 'problem',
  message: 'table audit_log differs from the layout modelship creates (altered or rebuilt by hand?)',
};

describe('rows outside the chain in audit.db', () => {
  it.each([0, -3])(
    'a row with seq %i, stored after the constraints were dropped, is listed and fails verify',
    async (seq) => {
      const { path, records } = await fiveRecords();
      dropConstraints(path);
      insertRow(path, records[0] as AuditRecord, seq);
      const result = await verify(path);
      expect(result.ok).toBe(false);
      // The chain itself is intact: only the census sees the row.
      expect(result.chain).toMatchObject({ ok: true, count: 5 });
      expect(result.table).toMatchObject({
        rows: 6,
        chained: 5,
        strays: 1,
        minSeq: seq,
        maxSeq: 5,
        listed: [{ seq: String(seq), reason: `seq ${seq} is below 1, where every chain starts` }],
      });
      expect(result.table.findings).toContainEqual(rebuilt);
    },
  );

  it('a row beyond the head breaks the chain there and is counted, not skipped', async () => {
    const { path, records } = await fiveRecords();
    insertRow(path, records[4] as AuditRecord, 40);
    const result = await verify(path);
    expect(result).toMatchObject({
      ok: false,
      chain: { ok: false, seq: 40, reason: expect.stringMatching(/^record 40: expected seq 6/) },
      table: { rows: 6, chained: 5, strays: 0, afterBreak: 1, maxSeq: 40, findings: [] },
    });
  });

  it('a gap: the record after it is named, and the rows after the break are counted as unverified', async () => {
    const { path } = await fiveRecords();
    tamper(path, 'DELETE FROM audit_log WHERE seq = 3');
    const result = await verify(path);
    expect(result).toMatchObject({
      ok: false,
      chain: {
        ok: false,
        seq: 4,
        reason: 'record 4: expected seq 3 (a record before it is missing or out of order)',
      },
      table: { rows: 4, chained: 2, strays: 0, afterBreak: 2 },
    });
  });

  it('a table rebuilt without types or key: NULL, text, real and duplicate seqs are each listed', async () => {
    const { path, records } = await fiveRecords();
    tamper(
      path,
      `ALTER TABLE audit_log RENAME TO keyed; DROP INDEX audit_log_model; DROP INDEX audit_log_workflow;
       CREATE TABLE audit_log (seq, time, kind, model, environment, git_commit, workflow_id, run_id, step,
         activity_id, attempt, actor, data, prev_hash, hash);
       INSERT INTO audit_log SELECT * FROM keyed; DROP TABLE keyed;`,
    );
    const first = records[0] as AuditRecord;
    for (const seq of ['NULL', "'7'", '2.5', '2']) insertRow(path, first, seq);
    const { ok, chain, table } = await verify(path);
    expect(ok).toBe(false);
    expect(chain).toMatchObject({ ok: false, seq: 2, reason: 'record 2: duplicate (seq 2 appears twice)' });
    // 9 rows = 2 verified + 4 strays + 3 after the break (seq 3 to 5).
    expect(table).toMatchObject({ rows: 9, chained: 2, strays: 4, afterBreak: 3 });
    expect(table.listed).toEqual([
      { seq: 'NULL', reason: 'seq is NULL' },
      { seq: '2.5', reason: 'seq is a real value, not an integer' },
      { seq: "'7'", reason: 'seq is text, not an integer' },
      { seq: '2', reason: 'seq 2 appears 2 times (only one row per seq can be in the chain)' },
    ]);
  });

  it('values in an added column, and a trigger that could swallow appends, are problems', async () => {
    const { path } = await fiveRecords();
    tamper(
      path,
      `ALTER TABLE audit_log ADD COLUMN note TEXT; UPDATE audit_log SET note = 'approved by bob' WHERE seq = 2;
       CREATE TRIGGER swallow BEFORE INSERT ON audit_log BEGIN SELECT RAISE(IGNORE); END;
       CREATE TABLE audit_log_shadow (seq INTEGER);`,
    );
    const { ok, chain, table } = await verify(path);
    expect(chain).toMatchObject({ ok: true, count: 5 });
    expect(ok).toBe(false);
    expect(table.findings).toEqual(
      expect.arrayContaining([
        rebuilt,
        {
          level: 'problem',
          message:
            'column note is not part of the audit layout (1 rows hold a value the chain does not cover)',
        },
        {
          level: 'problem',
          message: 'unknown trigger swallow: a trigger can change or silently drop what is appended',
        },
        {
          level: 'problem',
          message: 'unknown table audit_log_shadow in the audit file: its rows are not part of the chain',
        },
      ]),
    );
  });

  it('export refuses a log with a stray row instead of leaving it out, and show points at verify', async () => {
    const { path, records } = await fiveRecords();
    dropConstraints(path);
    insertRow(path, records[1] as AuditRecord, 0);
    const store = await openSqliteAuditStore(path, { mustExist: true });
    try {
      await expect(exportJsonl(store, new PassThrough())).rejects.toThrow(
        /holds rows outside the chain \(seq 0 is below 1, where every chain starts\); run `modelship audit verify`/,
      );
      await expect(store.list()).rejects.toThrow(/record 0 .* run `modelship audit verify`/);
    } finally {
      await store.close();
    }
  });
});
