/** The PostgreSQL audit store against a real server: the same contract as the SQLite store. */
import { describe, expect, it } from 'vitest';
import { openPostgresAuditStore } from '../../audit/postgres-store.ts';
import { describePostgresUrl } from '../../audit/postgres-url.ts';
import { GENESIS_HASH, InvalidAuditEventError } from '../../audit/record.ts';
import { AuditStoreError, AuditStoreNotFoundError } from '../../audit/store.ts';
import { sampleEvent } from './helpers.ts';
import { TEST_POSTGRES_URL, usePostgres } from './postgres-helpers.ts';

const db = usePostgres();

describe('openPostgresAuditStore', () => {
  it('creates the table and round-trips every field, also after reopening as a reader', async () => {
    const table = db.table();
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table });
    const failed = sampleEvent({
      kind: 'activity.failed',
      attempt: 3,
      error: { type: 'DigestMismatch', message: 'expected sha256:aa, got sha256:bb' },
      details: { nonRetryable: true, report: { files: ['model.onnx'] }, ratio: 0.1 + 0.2 },
    });
    const {
      activityId: _omit,
      attempt: _omit2,
      inputDigest: _omit3,
      ...decision
    } = sampleEvent({
      kind: 'workflow.decision',
      step: 'approval.granted',
      actor: 'alice@example.com',
      time: '2026-05-01T14:00:00.123+02:00',
      outputDigest: 'b'.repeat(64),
    });
    const first = await store.append(failed);
    const second = await store.append(decision);
    expect(first).toMatchObject({ ...failed, seq: 1, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, actor: 'alice@example.com' });
    expect(second).not.toHaveProperty('activityId');
    await store.close();

    const reopened = await openPostgresAuditStore(TEST_POSTGRES_URL, { table, mustExist: true });
    expect(await reopened.list()).toEqual([first, second]);
    expect(await reopened.head()).toEqual({ seq: 2, hash: second.hash });
    expect(await reopened.verify()).toMatchObject({
      ok: true,
      chain: { ok: true, count: 2, headSeq: 2, headHash: second.hash },
      table: { rows: 2, chained: 2, strays: 0, minSeq: 1, maxSeq: 2, findings: [] },
    });
    await reopened.close();
  });

  it('filters by model, environment and workflow, and keeps the most recent with a limit', async () => {
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table: db.table() });
    const events = [
      sampleEvent({ model: 'iris', environment: 'staging', workflowId: 'w1' }),
      sampleEvent({ model: 'iris', environment: 'prod', workflowId: 'w2' }),
      sampleEvent({ model: 'cancer', environment: 'prod', workflowId: 'w3' }),
      sampleEvent({ model: 'iris', environment: 'prod', workflowId: 'w2', kind: 'activity.completed' }),
    ];
    for (const event of events) await store.append(event);
    const seqs = async (filter: Parameters<typeof store.list>[0]) =>
      (await store.list(filter)).map((r) => r.seq);
    expect(await seqs({})).toEqual([1, 2, 3, 4]);
    expect(await seqs({ model: 'iris' })).toEqual([1, 2, 4]);
    expect(await seqs({ model: 'iris', environment: 'prod' })).toEqual([2, 4]);
    expect(await seqs({ workflowId: 'w3' })).toEqual([3]);
    expect(await seqs({ environment: 'prod', limit: 2 })).toEqual([3, 4]);
    expect(await seqs({ model: "nope' OR 1=1 --" })).toEqual([]);
    await store.close();
  });

  it('keeps a gapless, valid chain under 200 concurrent appends, in call order', async () => {
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table: db.table() });
    const records = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.append(sampleEvent({ activityId: `a${i}` }))),
    );
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(records.map((r) => r.activityId)).toEqual(Array.from({ length: 200 }, (_, i) => `a${i}`));
    expect(await store.verify()).toMatchObject({
      ok: true,
      chain: { count: 200, headHash: records[199]?.hash },
    });
    await store.close();
  });

  it('walks logs longer than one page in order, reading page by page as it goes', async () => {
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table: db.table(), pageSize: 7 });
    for (let i = 0; i < 10; i += 1) await store.append(sampleEvent({ activityId: `a${i}` }));
    const seqs: number[] = [];
    for await (const record of store.all()) {
      // Records appended mid-walk still show up: later pages are fetched only when reached,
      // so a long log is never held in memory at once.
      if (record.seq === 1) {
        for (let i = 10; i < 30; i += 1) await store.append(sampleEvent({ activityId: `a${i}` }));
      }
      seqs.push(record.seq);
    }
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 30, headSeq: 30 } });
    await store.close();
  });

  it('rejects an invalid event without using up a seq', async () => {
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table: db.table() });
    await expect(store.append(sampleEvent({ kind: 'bogus' as never }))).rejects.toThrow(
      InvalidAuditEventError,
    );
    expect((await store.append(sampleEvent())).seq).toBe(1);
    await store.close();
  });

  it('finishes pending appends on close and refuses work afterwards', async () => {
    const store = await openPostgresAuditStore(TEST_POSTGRES_URL, { table: db.table() });
    const pending = Promise.all([store.append(sampleEvent()), store.append(sampleEvent())]);
    await store.close();
    expect((await pending).map((r) => r.seq)).toEqual([1, 2]);
    await expect(store.append(sampleEvent())).rejects.toThrow(/closed/);
    await expect(store.list()).rejects.toThrow(/closed/);
  });

  it('several stores creating the same table at once all succeed and share one chain', async () => {
    const table = db.table();
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresAuditStore(TEST_POSTGRES_URL, { table })),
    );
    await Promise.all(stores.map((store, i) => store.append(sampleEvent({ actor: `worker:${i}` }))));
    expect(await stores[0]?.verify()).toMatchObject({ ok: true, chain: { count: 4 } });
    await Promise.all(stores.map((store) => store.close()));
  });

  it('readers never create a table, and say which table is missing or not an audit log', async () => {
    const table = db.table();
    const missing = openPostgresAuditStore(TEST_POSTGRES_URL, { table, mustExist: true });
    await expect(missing).rejects.toThrow(AuditStoreNotFoundError);
    await expect(missing).rejects.toThrow(`no audit log at ${table} on `);
    expect(await db.sql('SELECT to_regclass($1) AS t', [table])).toEqual([{ t: null }]);

    await db.sql(`CREATE TABLE ${table} (id int)`);
    await expect(openPostgresAuditStore(TEST_POSTGRES_URL, { table })).rejects.toThrow(
      `${table} on ${describePostgresUrl(TEST_POSTGRES_URL)} exists but is not a modelship audit log`,
    );
  });

  it('refuses a table name that is not a plain lower-case identifier', async () => {
    for (const table of ['Audit', 'a.b.c', 'audit; DROP TABLE x', '']) {
      await expect(openPostgresAuditStore(TEST_POSTGRES_URL, { table })).rejects.toThrow(
        /must be "name" or "schema.name"/,
      );
    }
  });

  it('names user, host and database of an unreachable server, never the password', async () => {
    const opening = openPostgresAuditStore('postgres://auditor:hunter2@127.0.0.1:1/ledger', {
      connectTimeoutMs: 2_000,
    });
    await expect(opening).rejects.toThrow(AuditStoreError);
    const error = (await opening.catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      'PostgreSQL audit store at auditor@127.0.0.1:1/ledger: connection failed: connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2');
  });
});
