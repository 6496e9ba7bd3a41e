/** Choosing the store (PostgreSQL for a URL, SQLite otherwise) and describing URLs without secrets. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import { describePostgresUrl, isPostgresUrl } from '../../audit/postgres-url.ts';
import { AuditStoreError } from '../../audit/store.ts';
import { sampleEvent, tempDir } from './helpers.ts';
import { usePostgres } from './postgres-helpers.ts';

const db = usePostgres();

describe('openAuditStore', () => {
  it('opens the SQLite file under MODELSHIP_HOME when no URL is given', async () => {
    for (const url of [undefined, '', '  ']) {
      const home = await tempDir();
      const store = await openAuditStore(home, url);
      await store.append(sampleEvent());
      await store.close();
      expect(existsSync(join(home, 'audit.db'))).toBe(true);
    }
  });

  it('opens the PostgreSQL table audit_log, in the first schema of the search_path, for a URL', async () => {
    const home = await tempDir();
    const store = await openAuditStore(home, db.url);
    const record = await store.append(sampleEvent({ actor: 'worker:pg' }));
    await store.close();
    expect(existsSync(join(home, 'audit.db'))).toBe(false);
    expect(await db.sql(`SELECT seq, actor, hash FROM ${db.schema}.audit_log`)).toEqual([
      { seq: '1', actor: 'worker:pg', hash: record.hash },
    ]);
  });

  it('refuses a URL of another kind instead of quietly writing the local file', async () => {
    const home = await tempDir();
    await expect(openAuditStore(home, 'mysql://root:s3cret@db/audit')).rejects.toThrow(
      new AuditStoreError(
        'the audit store URL (MODELSHIP_AUDIT_URL) must be a postgres:// or postgresql:// URL, ' +
          'e.g. postgres://modelship@db.internal:5432/modelship',
      ),
    );
    expect(existsSync(join(home, 'audit.db'))).toBe(false);
  });
});

describe('PostgreSQL URLs', () => {
  it('recognises both schemes, in any case', () => {
    expect(isPostgresUrl('postgres://h/db')).toBe(true);
    expect(isPostgresUrl(' POSTGRESQL://h/db')).toBe(true);
    expect(isPostgresUrl('postgre://h/db')).toBe(false);
    expect(isPostgresUrl('/var/lib/modelship')).toBe(false);
  });

  it('describes user, host, port and database, and never the password or query parameters', () => {
    const cases: Array<[url: string, description: string]> = [
      ['postgres://modelship:s3cret@db.internal:6543/audit', 'modelship@db.internal:6543/audit'],
      ['postgresql://app%40corp:p%40ss@db/audit?sslmode=require&password=s3cret', 'app@corp@db:5432/audit'],
      ['postgres://bob@/audit?host=/var/run/postgresql', 'bob@/var/run/postgresql/audit'],
      ['postgres://bob:s3cret@[::1]/audit', 'bob@[::1]:5432/audit'],
      ['postgres://db.internal', 'db.internal:5432/'],
      ['postgres:///audit', 'localhost:5432/audit'],
      ['postgres://bob@db', 'bob@db:5432/bob'],
    ];
    for (const [url, description] of cases) {
      expect(describePostgresUrl(url)).toBe(description);
    }
  });
});
