/**
 * An attacker with write access to audit.db edits it directly (another SQLite connection,
 * triggers dropped) and `verify` must name the first record that no longer fits.
 */
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../audit/record.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import type { AuditStore } from '../../audit/store.ts';
import { sampleEvent, tamper, tempDir } from './helpers.ts';

/** A log of ten records: started/completed pairs with one failure, closed again. */
async function tenRecords(): Promise<{ path: string; records: AuditRecord[] }> {
  const path = join(await tempDir(), 'audit.db');
  const store = await openSqliteAuditStore(path);
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
  return { path, records };
}

/** The chain walk's verdict (the table's census is tested in stray-rows.test.ts). */
async function verify(path: string, anchor?: { seq: number; hash: string }) {
  const store: AuditStore = await openSqliteAuditStore(path, { mustExist: true });
  try {
    return (await store.verify(anchor ? { anchor } : {})).chain;
  } finally {
    await store.close();
  }
}

describe('tampering with audit.db', () => {
  it('the triggers refuse a plain UPDATE or DELETE (accidents), the chain handles the rest', async () => {
    const { path } = await tenRecords();
    const db = new sqlite.Database(path);
    try {
      expect(() => db.run("UPDATE audit_log SET actor = 'x' WHERE seq = 3")).toThrow(/append-only/);
      expect(() => db.run('DELETE FROM audit_log WHERE seq = 3')).toThrow(/append-only/);
    } finally {
      db.close();
    }
    expect(await verify(path)).toMatchObject({ ok: true, count: 10 });
  });

  it('(a) one field of one record edited: a column', async () => {
    const { path } = await tenRecords();
    tamper(path, "UPDATE audit_log SET model = 'cancer' WHERE seq = 7");
    expect(await verify(path)).toEqual({
      ok: false,
      seq: 7,
      reason: 'record 7: hash does not match its content (altered?)',
    });
  });

  it('(a) one field of one record edited: inside the JSON column', async () => {
    const { path } = await tenRecords();
    tamper(path, `UPDATE audit_log SET data = json_set(data, '$.error.message', 'all good') WHERE seq = 6`);
    expect(await verify(path)).toMatchObject({ ok: false, seq: 6, reason: expect.stringMatching(/altered/) });
  });

  it('(b) a middle record deleted', async () => {
    const { path } = await tenRecords();
    tamper(path, 'DELETE FROM audit_log WHERE seq = 6');
    expect(await verify(path)).toEqual({
      ok: false,
      seq: 7,
      reason: 'record 7: expected seq 6 (a record before it is missing or out of order)',
    });
  });

  it('(b) a middle record deleted and the rest renumbered', async () => {
    const { path } = await tenRecords();
    tamper(path, 'DELETE FROM audit_log WHERE seq = 6; UPDATE audit_log SET seq = seq - 1 WHERE seq > 6');
    expect(await verify(path)).toMatchObject({
      ok: false,
      seq: 6,
      reason: expect.stringMatching(/^record 6: prevHash does not match the hash of record 5/),
    });
  });

  it('(c) two records swapped', async () => {
    const { path } = await tenRecords();
    // Through seq 100 rather than a negative one: the schema refuses seq < 1.
    tamper(
      path,
      'UPDATE audit_log SET seq = 100 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5; ' +
        'UPDATE audit_log SET seq = 5 WHERE seq = 100',
    );
    expect(await verify(path)).toMatchObject({
      ok: false,
      seq: 4,
      reason: expect.stringMatching(/^record 4: prevHash does not match the hash of record 3/),
    });
  });

  it('(d) the last record deleted and a forged one put in its place, hashes copied', async () => {
    const { path, records } = await tenRecords();
    const last = records[9];
    tamper(path, 'DELETE FROM audit_log WHERE seq = 10');
    tamper(
      path,
      `INSERT INTO audit_log (seq, time, kind, model, environment, git_commit, workflow_id, run_id, step,
         activity_id, attempt, actor, data, prev_hash, hash)
       VALUES (10, '${last?.time}', 'activity.completed', 'iris', 'staging', '3f2a9c1d', 'deploy-iris-staging',
         'run-1', 'resolveArtifact', '5', 1, 'worker:test', '{"outputDigest":"${'c'.repeat(64)}"}',
         '${last?.prevHash}', '${last?.hash}')`,
    );
    expect(await verify(path)).toEqual({
      ok: false,
      seq: 10,
      reason: 'record 10: hash does not match its content (altered?)',
    });
  });

  // Without a secret, whoever can write the file can also compute valid hashes: deleting the
  // tail and appending forged records through the normal path leaves a valid chain, and so does
  // plain truncation. Only a head pinned outside the store (store.head(), `verify --json`)
  // catches it, which is why verify accepts an anchor.
  it('(d) the last record replaced through the store itself: only the pinned head catches it', async () => {
    const { path, records } = await tenRecords();
    const anchor = { seq: 10, hash: records[9]?.hash ?? '' };
    tamper(path, 'DELETE FROM audit_log WHERE seq = 10');
    const store = await openSqliteAuditStore(path);
    await store.append(sampleEvent({ kind: 'activity.completed', activityId: '5', actor: 'worker:forger' }));
    await store.close();
    expect(await verify(path)).toMatchObject({ ok: true, count: 10 });
    expect(await verify(path, anchor)).toEqual({
      ok: false,
      seq: 10,
      reason: 'record 10: hash differs from the pinned anchor (log rewritten from here?)',
    });
  });

  it('truncating the tail is invisible to the chain alone and caught by the anchor', async () => {
    const { path, records } = await tenRecords();
    const anchor = { seq: 10, hash: records[9]?.hash ?? '' };
    tamper(path, 'DELETE FROM audit_log WHERE seq > 7');
    expect(await verify(path)).toMatchObject({ ok: true, count: 7, headHash: records[6]?.hash });
    expect(await verify(path, anchor)).toMatchObject({
      ok: false,
      seq: 10,
      reason: expect.stringMatching(/truncated/),
    });
  });

  it('a row made unreadable is named, and reading it points at verify', async () => {
    const { path } = await tenRecords();
    tamper(path, "UPDATE audit_log SET kind = 'activity.teleported' WHERE seq = 3");
    expect(await verify(path)).toMatchObject({
      ok: false,
      seq: 3,
      reason: expect.stringMatching(/^record 3: not a valid audit record \(kind: /),
    });
    const store = await openSqliteAuditStore(path, { mustExist: true });
    await expect(store.list()).rejects.toThrow(/record 3 .* run `modelship audit verify`/);
    await store.close();
  });
});
