/**
 * Someone with write access edits the PostgreSQL audit table directly (a separate connection,
 * triggers disabled first) and `verify` must name the first record that no longer fits.
 */
import { describe, expect, it } from 'vitest';
import { openPostgresAuditStore } from '../../audit/postgres-store.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { sampleEvent } from './helpers.ts';
import { TEST_POSTGRES_URL, usePostgres } from './postgres-helpers.ts';

const db = usePostgres();

/** A table of ten records: started/completed pairs with one failure, store closed again. */
async function tenRecords(): Promise<{ table: string; records: AuditRecord[] }> {
  const table = db.table();
  const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table });
  const records: AuditRecord[] = [];
  for (let i = 1; i <= 10; i += 1) {
    const kind = i % 2 === 1 ? 'activity.started' : i === 6 ? 'activity.failed' : 'activity.completed';
    records.push(
      await store.append(
        sampleEvent({
          kind,
          activityId: String(Math.ceil(i / 2)),
          ...(kind === 'activity.failed' ? { error: { type: 'ScanFailed', message: 'external data' } } : {}),
        }),
      ),
    );
  }
  await store.close();
  return { table, records };
}

/** The chain walk's verdict (the table's census is tested in postgres-stray-rows.test.ts). */
async function verify(table: string, anchor?: { seq: number; hash: string }) {
  const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, mustExist: true });
  try {
    return (await store.verify(anchor ? { anchor } : {})).chain;
  } finally {
    await store.close();
  }
}

describe('tampering with the PostgreSQL audit table', () => {
  it('the triggers refuse a plain UPDATE, DELETE or TRUNCATE (accidents)', async () => {
    const { table } = await tenRecords();
    await expect(db.sql(`UPDATE ${table} SET actor = 'x' WHERE seq = 3`)).rejects.toThrow(
      /the audit log is append-only \(UPDATE refused/,
    );
    await expect(db.sql(`DELETE FROM ${table} WHERE seq = 3`)).rejects.toThrow(/append-only \(DELETE/);
    await expect(db.sql(`TRUNCATE ${table}`)).rejects.toThrow(/append-only \(TRUNCATE/);
    expect(await verify(table)).toMatchObject({ ok: true, count: 10 });
  });

  it('one column of one record edited: verify names that record', async () => {
    const { table } = await tenRecords();
    await db.tamper(table, `UPDATE ${table} SET model = 'cancer' WHERE seq = 7`);
    expect(await verify(table)).toEqual({
      ok: false,
      seq: 7,
      reason: 'record 7: hash does not match its content (altered?)',
    });
  });

  it('one field inside the JSON column edited: verify names that record', async () => {
    const { table } = await tenRecords();
    await db.tamper(
      table,
      `UPDATE ${table} SET data = jsonb_set(data::jsonb, '{error,message}', '"all good"')::text WHERE seq = 6`,
    );
    expect(await verify(table)).toMatchObject({
      ok: false,
      seq: 6,
      reason: expect.stringMatching(/altered/),
    });
  });

  it('a middle record deleted: verify names the record after the gap', async () => {
    const { table } = await tenRecords();
    await db.tamper(table, `DELETE FROM ${table} WHERE seq = 6`);
    expect(await verify(table)).toEqual({
      ok: false,
      seq: 7,
      reason: 'record 7: expected seq 6 (a record before it is missing or out of order)',
    });
  });

  it('a middle record deleted and the rest renumbered: the broken link is named', async () => {
    const { table } = await tenRecords();
    // Renumbering in one statement would collide with the primary key midway; go through
    // seq + 1000 (the constraints refuse negative ones).
    await db.tamper(
      table,
      `DELETE FROM ${table} WHERE seq = 6; UPDATE ${table} SET seq = seq + 1000 WHERE seq > 6;
       UPDATE ${table} SET seq = seq - 1001 WHERE seq > 1000`,
    );
    expect(await verify(table)).toMatchObject({
      ok: false,
      seq: 6,
      reason: expect.stringMatching(/^record 6: prevHash does not match the hash of record 5/),
    });
  });

  it('truncating the tail is invisible to the chain alone and caught by a pinned anchor', async () => {
    const { table, records } = await tenRecords();
    const anchor = { seq: 10, hash: records[9]?.hash ?? '' };
    await db.tamper(table, `DELETE FROM ${table} WHERE seq > 7`);
    expect(await verify(table)).toMatchObject({ ok: true, count: 7, headHash: records[6]?.hash });
    expect(await verify(table, anchor)).toMatchObject({
      ok: false,
      seq: 10,
      reason: expect.stringMatching(/truncated/),
    });
  });

  it('a row made unreadable is named by verify, and reading it points at verify', async () => {
    const { table } = await tenRecords();
    await db.tamper(table, `UPDATE ${table} SET kind = 'activity.teleported' WHERE seq = 3`);
    expect(await verify(table)).toMatchObject({
      ok: false,
      seq: 3,
      reason: expect.stringMatching(/^record 3: not a valid audit record \(kind: /),
    });
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, mustExist: true });
    await expect(store.list()).rejects.toThrow(
      new RegExp(`record 3 in table ${table} on .* run \`modelship audit verify\``),
    );
    await store.close();
  });
});
