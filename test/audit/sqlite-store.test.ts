import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, InvalidAuditEventError } from '../../audit/record.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { AuditStoreError, AuditStoreNotFoundError, defaultAuditPath } from '../../audit/store.ts';
import { sampleEvent, tempDir } from './helpers.ts';

describe('openSqliteAuditStore', () => {
  it('creates parent directories and round-trips every field', async () => {
    const path = join(await tempDir(), 'nested', 'home', 'audit.db');
    const store = await openSqliteAuditStore(path);
    const failed = sampleEvent({
      kind: 'activity.failed',
      attempt: 3,
      error: { type: 'DigestMismatch', message: 'expected sha256:aa, got sha256:bb' },
      details: { nonRetryable: true, report: { files: ['model.onnx'] } },
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
      outputDigest: 'b'.repeat(64),
    });
    const first = await store.append(failed);
    const second = await store.append(decision);
    expect(first).toMatchObject({ ...failed, seq: 1, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, actor: 'alice@example.com' });
    expect(second).not.toHaveProperty('activityId');
    await store.close();

    const reopened = await openSqliteAuditStore(path, { mustExist: true });
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
    const store = await openSqliteAuditStore(join(await tempDir(), 'audit.db'));
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
    expect(await seqs({ model: 'nope' })).toEqual([]);
    await store.close();
  });

  it('keeps a gapless, valid chain under 200 concurrent appends, in call order', async () => {
    const store = await openSqliteAuditStore(join(await tempDir(), 'audit.db'));
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

  it('walks logs longer than one page in order', async () => {
    const store = await openSqliteAuditStore(join(await tempDir(), 'audit.db'));
    await Promise.all(
      Array.from({ length: 1203 }, (_, i) => store.append(sampleEvent({ activityId: `a${i}` }))),
    );
    const seqs: number[] = [];
    for await (const record of store.all()) seqs.push(record.seq);
    expect(seqs).toEqual(Array.from({ length: 1203 }, (_, i) => i + 1));
    expect(await store.verify()).toMatchObject({ ok: true, chain: { count: 1203 } });
    await store.close();
  });

  it('rejects an invalid event without using up a seq', async () => {
    const store = await openSqliteAuditStore(join(await tempDir(), 'audit.db'));
    await expect(store.append(sampleEvent({ kind: 'bogus' as never }))).rejects.toThrow(
      InvalidAuditEventError,
    );
    expect((await store.append(sampleEvent())).seq).toBe(1);
    await store.close();
  });

  it('finishes pending appends on close and refuses work afterwards', async () => {
    const store = await openSqliteAuditStore(join(await tempDir(), 'audit.db'));
    const pending = Promise.all([store.append(sampleEvent()), store.append(sampleEvent())]);
    await store.close();
    expect((await pending).map((r) => r.seq)).toEqual([1, 2]);
    await expect(store.append(sampleEvent())).rejects.toThrow(/closed/);
  });

  it('readers never create a log and say which file is missing or wrong', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'audit.db');
    await expect(openSqliteAuditStore(missing, { mustExist: true })).rejects.toThrow(AuditStoreNotFoundError);
    const junk = join(dir, 'junk.db');
    await writeFile(junk, 'this is not a database, just text that is long enough to look like a header page');
    await expect(openSqliteAuditStore(junk, { mustExist: true })).rejects.toThrow(
      new AuditStoreError(`${junk} is not a SQLite database`),
    );
  });
});

describe('defaultAuditPath', () => {
  it('uses MODELSHIP_HOME, relative to cwd, defaulting to .modelship', () => {
    expect(defaultAuditPath({}, '/srv/app')).toBe('/srv/app/.modelship/audit.db');
    expect(defaultAuditPath({ MODELSHIP_HOME: '  ' }, '/srv/app')).toBe('/srv/app/.modelship/audit.db');
    expect(defaultAuditPath({ MODELSHIP_HOME: 'state' }, '/srv/app')).toBe('/srv/app/state/audit.db');
    expect(defaultAuditPath({ MODELSHIP_HOME: '/var/lib/modelship' }, '/srv/app')).toBe(
      '/var/lib/modelship/audit.db',
    );
  });
});

describe('text the database would re-encode', () => {
  it('stores lone surrogates and NUL as U+FFFD, so an honest record still verifies', async () => {
    const store = await openSqliteAuditStore(join(await tempDir(), 'audit.db'));
    try {
      const record = await store.append(sampleEvent({ actor: 'worker:\ud800x\u0000y' }));
      expect(record.actor).toBe('worker:\ufffdx\ufffdy');
      expect((await store.verify()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });
});
