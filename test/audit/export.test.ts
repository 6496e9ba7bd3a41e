import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../audit/canonical.ts';
import { exportJsonl, readJsonlRecords, verifyJsonlFile } from '../../audit/export.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { sampleEvent, tempDir } from './helpers.ts';

/** Exports a store of `n` records; returns the file, its lines and the records. */
async function exported(n: number): Promise<{ file: string; lines: string[]; records: AuditRecord[] }> {
  const dir = await tempDir();
  const store = await openSqliteAuditStore(join(dir, 'audit.db'));
  const records: AuditRecord[] = [];
  for (let i = 1; i <= n; i += 1) records.push(await store.append(sampleEvent({ activityId: String(i) })));
  const file = join(dir, 'audit.jsonl');
  const out = createWriteStream(file);
  expect(await exportJsonl(store, out)).toBe(n);
  out.end();
  await finished(out);
  await store.close();
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  return { file, lines, records };
}

async function rewrite(file: string, lines: string[]): Promise<void> {
  await writeFile(file, `${lines.join('\n')}\n`);
}

describe('JSONL export', () => {
  it('writes one canonical JSON record per line, in seq order, and the copy verifies', async () => {
    const { file, lines, records } = await exported(6);
    expect(lines).toEqual(records.map((record) => canonicalJson(record)));
    expect(await readJsonlRecords(file)).toEqual(records);
    expect(await verifyJsonlFile(file)).toEqual({
      ok: true,
      count: 6,
      headSeq: 6,
      headHash: records[5]?.hash,
    });
  });

  it('names an edited line', async () => {
    const { file, lines } = await exported(6);
    lines[3] = (lines[3] ?? '').replace('"worker:test"', '"worker:evil"');
    await rewrite(file, lines);
    expect(await verifyJsonlFile(file)).toEqual({
      ok: false,
      seq: 4,
      reason: 'record 4: hash does not match its content (altered?)',
    });
  });

  it('names removed, swapped and duplicated lines', async () => {
    const { file, lines } = await exported(6);
    await rewrite(file, lines.toSpliced(2, 1));
    expect(await verifyJsonlFile(file)).toMatchObject({
      ok: false,
      seq: 4,
      reason: expect.stringMatching(/^record 4: expected seq 3/),
    });
    await rewrite(file, [lines[0], lines[2], lines[1], ...lines.slice(3)] as string[]);
    expect(await verifyJsonlFile(file)).toMatchObject({
      ok: false,
      seq: 3,
      reason: expect.stringMatching(/^record 3: expected seq 2/),
    });
    await rewrite(file, lines.toSpliced(4, 0, lines[3] ?? ''));
    expect(await verifyJsonlFile(file)).toMatchObject({
      ok: false,
      seq: 4,
      reason: 'record 4: duplicate (seq 4 appears twice)',
    });
  });

  it('names a line that is not JSON or not a record', async () => {
    const { file, lines } = await exported(4);
    await rewrite(file, lines.toSpliced(2, 1, '{"seq": 3, oops'));
    expect(await verifyJsonlFile(file)).toMatchObject({
      ok: false,
      seq: 3,
      reason: expect.stringMatching(/^record 3 \(line 3\): not valid JSON/),
    });
    await rewrite(file, lines.toSpliced(2, 1, '{"seq": 3}'));
    expect(await verifyJsonlFile(file)).toMatchObject({
      ok: false,
      seq: 3,
      reason: expect.stringMatching(/^record 3 \(line 3\): not a valid audit record/),
    });
    await expect(readJsonlRecords(file)).rejects.toThrow(/audit\.jsonl:3: /);
  });

  it('verifies with an anchor, catching a truncated copy', async () => {
    const { file, lines, records } = await exported(5);
    const anchor = { seq: 5, hash: records[4]?.hash ?? '' };
    expect(await verifyJsonlFile(file, { anchor })).toMatchObject({ ok: true });
    await rewrite(file, lines.slice(0, 3));
    expect(await verifyJsonlFile(file)).toMatchObject({ ok: true, count: 3 });
    expect(await verifyJsonlFile(file, { anchor })).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/truncated/),
    });
  });
});
