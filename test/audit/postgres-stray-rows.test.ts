/**
 * The PostgreSQL audit table on a real server: rows the chain walk never reads (seq 0 or below)
 * and rows after a break are accounted for by verify; the CHECK constraints refuse what cannot
 * belong; a table of schema 1 is migrated without losing what it holds; and the other ways
 * PostgreSQL has of showing or keeping something other than what was appended are reported.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PG_CONSTRAINTS } from '../../audit/postgres-schema.ts';
import { openPostgresAuditStore } from '../../audit/postgres-store.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { AUDIT_COLUMNS, toColumns } from '../../audit/rows.ts';
import { sampleEvent } from './helpers.ts';
import { TEST_POSTGRES_URL, usePostgres } from './postgres-helpers.ts';

const db = usePostgres();

afterEach(() => {
  vi.restoreAllMocks();
});

/** A table of five records, store closed again. */
async function fiveRecords(): Promise<{ table: string; records: AuditRecord[] }> {
  const table = db.table();
  const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table });
  const records: AuditRecord[] = [];
  for (let i = 1; i <= 5; i += 1) records.push(await store.append(sampleEvent({ activityId: String(i) })));
  await store.close();
  return { table, records };
}

async function verify(table: string) {
  const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, mustExist: true });
  try {
    return await store.verify();
  } finally {
    await store.close();
  }
}

/** Inserts a copy of `record` at `seq`, as someone with psql would. */
function insertCopy(table: string, record: AuditRecord, seq: number): Promise<unknown> {
  const columns = toColumns(record);
  return db.sql(
    `INSERT INTO ${table} (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
    AUDIT_COLUMNS.map((column) => (column === 'seq' ? seq : columns[column])),
  );
}

describe('rows outside the chain in the PostgreSQL audit table', () => {
  it.each([0, -3])(
    'a row with seq %i, stored after the constraint was dropped, is listed and fails verify',
    async (seq) => {
      const { table, records } = await fiveRecords();
      await db.sql(`ALTER TABLE ${table} DROP CONSTRAINT modelship_seq_min`);
      await insertCopy(table, records[0] as AuditRecord, seq);
      const result = await verify(table);
      expect(result).toMatchObject({
        ok: false,
        chain: { ok: true, count: 5 },
        table: {
          rows: 6,
          chained: 5,
          strays: 1,
          minSeq: seq,
          listed: [{ seq: String(seq), reason: `seq ${seq} is below 1, where every chain starts` }],
        },
      });
      expect(result.table.findings).toContainEqual({
        level: 'problem',
        message: 'constraint modelship_seq_min (seq >= 1) is missing (dropped by hand?)',
      });
    },
  );

  it('a row beyond the head breaks the chain there and is counted', async () => {
    const { table, records } = await fiveRecords();
    await insertCopy(table, records[4] as AuditRecord, 40);
    expect(await verify(table)).toMatchObject({
      ok: false,
      chain: { ok: false, seq: 40, reason: expect.stringMatching(/^record 40: expected seq 6/) },
      table: { rows: 6, chained: 5, strays: 0, afterBreak: 1, maxSeq: 40, findings: [] },
    });
  });

  it('a gap: the record after it is named, the rows after the break counted as unverified', async () => {
    const { table } = await fiveRecords();
    await db.tamper(table, `DELETE FROM ${table} WHERE seq = 3`);
    expect(await verify(table)).toMatchObject({
      ok: false,
      chain: { ok: false, seq: 4 },
      table: { rows: 4, chained: 2, afterBreak: 2 },
    });
  });

  it('the constraints refuse an INSERT of what cannot belong to a chain', async () => {
    const { table, records } = await fiveRecords();
    const last = records[4] as AuditRecord;
    await expect(insertCopy(table, last, 0)).rejects.toThrow(/violates check constraint "modelship_seq_min"/);
    await expect(insertCopy(table, last, -1)).rejects.toThrow(
      /violates check constraint "modelship_seq_min"/,
    );
    await expect(insertCopy(table, { ...last, hash: last.hash.toUpperCase() }, 6)).rejects.toThrow(
      /violates check constraint "modelship_hash_hex"/,
    );
    await expect(insertCopy(table, { ...last, actor: '' }, 6)).rejects.toThrow(
      /violates check constraint "modelship_text_present"/,
    );
    await expect(insertCopy(table, { ...last, attempt: 0 }, 6)).rejects.toThrow(
      /violates check constraint "modelship_attempt_min"/,
    );
  });

  it('a schema 1 table holding a stray row is migrated: new rows refused, old ones reported', async () => {
    const { table, records } = await fiveRecords();
    // Back to schema 1 as it was: no constraints, the old comment. Then a stray row.
    await db.sql(
      `${PG_CONSTRAINTS.map(([name]) => `ALTER TABLE ${table} DROP CONSTRAINT ${name};`).join('\n')}
       COMMENT ON TABLE ${table} IS 'modelship audit log, schema 1'`,
    );
    await insertCopy(table, records[0] as AuditRecord, 0);
    expect((await verify(table)).table.findings).toEqual([
      { level: 'warning', message: expect.stringMatching(/^the table has schema 1/) },
    ]);
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table });
    expect((await store.append(sampleEvent())).seq).toBe(6);
    await store.close();
    expect(warning).not.toHaveBeenCalled();
    await expect(insertCopy(table, records[0] as AuditRecord, -1)).rejects.toThrow(/modelship_seq_min/);
    expect(await verify(table)).toMatchObject({
      ok: false,
      chain: { ok: true, count: 6 },
      table: {
        strays: 1,
        listed: [{ seq: '0' }],
        // The one constraint the old row breaks stays NOT VALID; the others were validated.
        findings: [
          { level: 'warning', message: expect.stringMatching(/^constraint modelship_seq_min is NOT VALID/) },
        ],
      },
    });
  });

  it('an added column, a rule, a foreign trigger, a child table and row-level security are problems', async () => {
    const { table } = await fiveRecords();
    const [, name] = table.split('.');
    await db.sql(
      `ALTER TABLE ${table} ADD COLUMN note TEXT;
       ALTER TABLE ${table} DISABLE TRIGGER USER;
       UPDATE ${table} SET note = 'approved by bob' WHERE seq = 2;
       ALTER TABLE ${table} ENABLE TRIGGER USER;
       CREATE RULE swallow AS ON INSERT TO ${table} WHERE NEW.actor = 'mallory' DO INSTEAD NOTHING;
       CREATE TRIGGER relabel BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${db.schema}.modelship_audit_append_only();
       CREATE TABLE ${db.schema}.${name}_child () INHERITS (${table});
       ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;`,
    );
    const { ok, table: report } = await verify(table);
    expect(ok).toBe(false);
    expect(report.findings.map((finding) => `${finding.level}: ${finding.message}`)).toEqual([
      'problem: row-level security is enabled on the table: rows may be hidden from this reader, and from the count',
      'problem: column note is not part of the audit layout (1 rows hold a value the chain does not cover)',
      'problem: unknown trigger relabel: a trigger can change or silently drop what is appended',
      'problem: rule swallow on the table can rewrite or drop what is appended',
      `problem: table ${db.schema}.${name}_child inherits from the audit table: its rows are read as audit rows`,
    ]);
    await db.sql(`DROP TABLE ${db.schema}.${name}_child`);
  });
});
