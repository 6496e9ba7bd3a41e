/**
 * Signed checkpoints with the PostgreSQL log, the case they are made for: the log on a database
 * server, the checkpoints and the key in the worker's home. Someone who can only edit the table
 * cuts the newest records off, or rewrites them into a valid chain, and verify still catches it.
 */
import { describe, expect, it } from 'vitest';
import { checkpointsPathFor } from '../../audit/checkpoint-file.ts';
import { checkpointKeyPath, publicKeyPathOf } from '../../audit/checkpoint-key.ts';
import { openAuditStore } from '../../audit/open.ts';
import { openPostgresAuditStore } from '../../audit/postgres-store.ts';
import { verifyAuditStore } from '../../audit/verify-log.ts';
import { sampleEvent, tempDir } from './helpers.ts';
import { usePostgres } from './postgres-helpers.ts';

const db = usePostgres();
const TABLE = `${db.schema}.audit_log`;

/** A worker's home and six records in `audit_log` of the test schema, checkpointed every two. */
async function workerHome(): Promise<string> {
  const home = await tempDir();
  const store = await openAuditStore(home, db.url, { checkpoints: { every: 2 } });
  for (let i = 1; i <= 6; i += 1) await store.append(sampleEvent({ activityId: String(i) }));
  await store.close();
  return home;
}

async function verify(home: string) {
  const store = await openPostgresAuditStore(db.url, { mustExist: true });
  try {
    return await verifyAuditStore(store, {
      checkpoints: { path: checkpointsPathFor(home), keyPath: publicKeyPathOf(checkpointKeyPath(home)) },
    });
  } finally {
    await store.close();
  }
}

describe('audit checkpoints with a PostgreSQL log', () => {
  it('an intact log matches every checkpoint', async () => {
    const home = await workerHome();
    expect(await verify(home)).toMatchObject({
      ok: true,
      chain: { count: 6 },
      table: { rows: 6, strays: 0 },
      checkpoints: { total: 3, matched: 3, newest: { seq: 6 }, findings: [] },
    });
  });

  it('the newest records deleted in the database: truncation reported with the count missing', async () => {
    const home = await workerHome();
    await db.tamper(TABLE, `DELETE FROM ${TABLE} WHERE seq > 3`);
    const report = await verify(home);
    expect(report).toMatchObject({ ok: false, chain: { ok: true, count: 3 } });
    expect(report.checkpoints.findings.map((finding) => finding.message)).toEqual([
      expect.stringMatching(
        /^checkpoint at line 2: .* for record 4, but the log ends at record 3: 1 record missing \(truncated\)$/,
      ),
      expect.stringMatching(
        /^checkpoint at line 3: .* for record 6, but the log ends at record 3: 3 records missing \(truncated\)$/,
      ),
    ]);
  });

  it('the tail rewritten into a valid chain by someone with only the database: the signed hash differs', async () => {
    const home = await workerHome();
    await db.tamper(TABLE, `DELETE FROM ${TABLE} WHERE seq > 4`);
    const forger = await openPostgresAuditStore(db.url);
    for (const id of ['5', '6']) await forger.append(sampleEvent({ activityId: id, actor: 'worker:forger' }));
    await forger.close();
    const report = await verify(home);
    expect(report.chain).toMatchObject({ ok: true, count: 6 });
    expect(report.checkpoints.findings).toEqual([
      {
        level: 'problem',
        message: expect.stringMatching(
          /^checkpoint at line 3: record 6 has hash .*\(the log was rewritten at or before record 6\)$/,
        ),
      },
    ]);
  });
});
