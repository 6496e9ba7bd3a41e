/** `modelship audit …` reading a PostgreSQL log, as a user runs it: the real bin, a real server. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openPostgresAuditStore } from '../../audit/postgres-store.ts';
import { describePostgresUrl } from '../../audit/postgres-url.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { sampleEvent, tempDir } from './helpers.ts';
import { usePostgres } from './postgres-helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'modelship.mjs');

const db = usePostgres();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function modelship(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { MODELSHIP_HOME: _home, MODELSHIP_AUDIT_URL: _url, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...inherited, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Three records in `audit_log` of the test schema, which `db.url` puts first on the search_path. */
async function logInPostgres(): Promise<AuditRecord[]> {
  const store = await openPostgresAuditStore(db.url);
  const records = [
    await store.append(sampleEvent({ step: 'scan' })),
    await store.append(sampleEvent({ step: 'scan', kind: 'activity.completed', model: 'cancer' })),
    await store.append(sampleEvent({ step: 'validate' })),
  ];
  await store.close();
  return records;
}

describe('modelship audit with a PostgreSQL log', () => {
  it('reads the table named by --url or by MODELSHIP_AUDIT_URL, which beats MODELSHIP_HOME', async () => {
    const records = await logInPostgres();
    const head = records[2]?.hash.slice(0, 12);
    // A log named by --url is held against checkpoints only when they are named too.
    const byFlag = await modelship(['audit', 'verify', '--url', db.url]);
    expect(byFlag).toMatchObject({ code: 0, stderr: '' });
    expect(byFlag.stdout).toContain(`audit verify: table ${db.schema}.audit_log on `);
    expect(byFlag.stdout).toContain('  rows         3 in the table (seq 1 to 3): 3 in the chain\n');
    expect(byFlag.stdout).toContain('  checkpoints  not checked (give --checkpoints FILE');
    expect(byFlag.stdout).toMatch(new RegExp(`\naudit verify: ok, 3 records, head ${head}\n$`));
    // The worker's environment: its home's checkpoints are looked for, and their absence said.
    const home = await tempDir();
    const byEnv = await modelship(['audit', 'verify'], { MODELSHIP_AUDIT_URL: db.url, MODELSHIP_HOME: home });
    expect(byEnv.code).toBe(0);
    expect(byEnv.stdout).toContain(
      `  warning      no checkpoint file at ${join(home, 'audit-checkpoints.jsonl')}`,
    );
    expect(byEnv.stdout).toMatch(new RegExp(`\naudit verify: ok, 3 records, head ${head}\n$`));

    const shown = await modelship(['audit', 'show', 'cancer', '--json'], { MODELSHIP_AUDIT_URL: db.url });
    expect(JSON.parse(shown.stdout)).toEqual([records[1]]);
  });

  it('an explicit --home still reads the SQLite file when MODELSHIP_AUDIT_URL is set', async () => {
    const home = await tempDir();
    const run = await modelship(['audit', 'verify', '--home', home], { MODELSHIP_AUDIT_URL: db.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no audit log at ${join(home, 'audit.db')}`);
  });

  it('a missing table or an unreachable server is one line and exit 1, without the password', async () => {
    const missing = await modelship(['audit', 'verify', '--url', db.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      new RegExp(
        `^modelship: audit verify: no audit log at ${db.schema}\\.audit_log on .*MODELSHIP_AUDIT_URL / --url`,
      ),
    );

    const url = 'postgres://auditor:hunter2@127.0.0.1:1/ledger';
    const down = await modelship(['audit', 'show'], { MODELSHIP_AUDIT_URL: url });
    expect(down).toMatchObject({
      code: 1,
      stderr: `modelship: audit show: PostgreSQL audit store at ${describePostgresUrl(url)}: connection failed: connect ECONNREFUSED 127.0.0.1:1\n`,
    });
    expect(down.stderr).not.toContain('hunter2');
  });

  it('refuses --home with --url, and a URL that is not PostgreSQL', async () => {
    expect(await modelship(['audit', 'show', '--home', '/tmp', '--url', db.url])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('give --home or --url, not both'),
    });
    expect(await modelship(['audit', 'show', '--url', 'mysql://root:s3cret@db/a'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^modelship: audit show: --url must be a postgres:\/\/ or postgresql:\/\/ URL/,
      ),
    });
  });
});
