/** `modelship audit …` as a user runs it: the real bin, a real store, exit codes and output. */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { dropConstraints, insertRow, sampleEvent, tamper, tempDir } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'modelship.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function modelship(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { MODELSHIP_HOME: _ignoredHome, MODELSHIP_AUDIT_URL: _ignoredUrl, ...inherited } = process.env;
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

/**
 * A home with a short rollout in its audit log (a retried failure, a success, a decision),
 * written as a worker writes it: the store signs a checkpoint of its last record when closed.
 */
async function homeWithLog(): Promise<{ home: string; records: AuditRecord[] }> {
  const home = await tempDir();
  const store = await openAuditStore(home);
  const records = [
    await store.append(sampleEvent({ step: 'validate', activityId: '2' })),
    await store.append(
      sampleEvent({
        kind: 'activity.failed',
        step: 'validate',
        activityId: '2',
        error: { type: 'ValidationFailed', message: 'accuracy 0.81 is below the minimum 0.9' },
      }),
    ),
    await store.append(sampleEvent({ step: 'scan', activityId: '3', attempt: 2 })),
    await store.append(
      sampleEvent({
        kind: 'activity.completed',
        step: 'scan',
        activityId: '3',
        outputDigest: 'd'.repeat(64),
      }),
    ),
    await store.append(
      sampleEvent({
        kind: 'workflow.decision',
        model: 'cancer',
        environment: 'prod',
        workflowId: 'deploy-cancer-prod',
        step: 'approval.granted',
        activityId: undefined,
        attempt: undefined,
        inputDigest: undefined,
        actor: 'alice@example.com',
        details: { stage: 'canary-10' },
      }),
    ),
  ];
  await store.close();
  return { home, records };
}

describe('modelship audit', () => {
  it('verify: says what it checked (rows, chain, checkpoints), then ok with the count and head, exit 0', async () => {
    const { home, records } = await homeWithLog();
    const run = await modelship(['audit', 'verify', '--home', home]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const head = records[4]?.hash.slice(0, 12);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines.slice(0, 3)).toEqual([
      `audit verify: ${join(home, 'audit.db')}`,
      '  rows         5 in the table (seq 1 to 5): 5 in the chain',
      `  chain        records 1 to 5 verified, head ${head}`,
    ]);
    expect(lines[3]).toMatch(
      new RegExp(
        `^ {2}checkpoints {2}1 in ${join(home, 'audit-checkpoints.jsonl')}, key [0-9a-f]{12} \\(${join(home, 'keys', 'audit-checkpoint.pub')}\\): ` +
          '1 match; the newest vouches for record 5 \\(\\S+\\)$',
      ),
    );
    expect(lines[4]).toBe(`audit verify: ok, 5 records, head ${head}`);
  });

  it('verify: a tampered log fails with the first bad record on stderr, exit 1', async () => {
    const { home } = await homeWithLog();
    tamper(join(home, 'audit.db'), "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5");
    const run = await modelship(['audit', 'verify'], { MODELSHIP_HOME: home });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  chain        broken: record 5: hash does not match its content (altered?)\n',
    );
    expect(run.stderr).toBe('audit verify: FAILED: record 5: hash does not match its content (altered?)\n');
  });

  it('verify: a log cut short (caught by its signed checkpoint) and a row with seq 0 are each reported, exit 1', async () => {
    const { home, records } = await homeWithLog();
    const path = join(home, 'audit.db');
    tamper(path, 'DELETE FROM audit_log WHERE seq > 3');
    dropConstraints(path);
    insertRow(path, records[0] as AuditRecord, 0);
    const run = await modelship(['audit', 'verify', '--home', home]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  rows         4 in the table (seq 0 to 3): 3 in the chain, 1 outside it\n',
    );
    expect(run.stdout).toContain('  chain        records 1 to 3 verified');
    expect(run.stdout).toContain('  stray row    seq 0: seq 0 is below 1, where every chain starts\n');
    const failures = run.stderr.trimEnd().split('\n');
    expect(failures).toContain(
      'audit verify: FAILED: 1 row outside the chain (first: seq 0 is below 1, where every chain starts)',
    );
    expect(failures.at(-1)).toMatch(
      /^audit verify: FAILED: checkpoint at line 1: signed at \S+ for record 5, but the log ends at record 3: 2 records missing \(truncated\)$/,
    );
  });

  it('verify: a missing log is one clear line and exit 1, not a stack trace', async () => {
    const home = await tempDir();
    const run = await modelship(['audit', 'verify', '--home', home]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `modelship: audit verify: no audit log at ${join(home, 'audit.db')} ` +
        '(nothing has been recorded yet, or MODELSHIP_HOME / --home points elsewhere)\n',
    );
  });

  it('show: a table with the failure’s type and message, filtered by model', async () => {
    const { home } = await homeWithLog();
    const all = await modelship(['audit', 'show', '--home', home]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+KIND\s+STEP\s+ATT\s+ACTOR\s+OUTCOME\s+MODEL@ENV$/);
    expect(lines[2]).toMatch(
      /^2\s+2026-05-01 12:00:00Z\s+activity\.failed\s+validate\s+1\s+worker:test\s+ValidationFailed: accuracy 0\.81 is below the minimum 0\.9\s+iris@staging$/,
    );
    expect(lines[5]).toMatch(/approval\.granted\s+alice@example\.com\s+stage=canary-10\s+cancer@prod$/);

    const cancer = await modelship(['audit', 'show', 'cancer', '--home', home, '--json']);
    expect((JSON.parse(cancer.stdout) as AuditRecord[]).map((record) => record.seq)).toEqual([5]);
    const last = await modelship([
      'audit',
      'show',
      '--home',
      home,
      '--env',
      'staging',
      '--limit',
      '2',
      '--json',
    ]);
    expect((JSON.parse(last.stdout) as AuditRecord[]).map((record) => record.seq)).toEqual([3, 4]);
  });

  it('export, then verify the copy; an anchor catches the copy being cut short', async () => {
    const { home, records } = await homeWithLog();
    const file = join(home, 'copy.jsonl');
    const exported = await modelship(['audit', 'export', '--home', home, '--out', file]);
    expect(exported).toMatchObject({ code: 0, stdout: '', stderr: `audit export: 5 records to ${file}\n` });
    const anchor = `5:${records[4]?.hash}`;
    expect(await modelship(['audit', 'verify', '--file', file, '--anchor', anchor])).toMatchObject({
      code: 0,
    });

    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    await writeFile(file, `${lines.slice(0, 4).join('\n')}\n`);
    const cut = await modelship(['audit', 'verify', '--file', file, '--anchor', anchor]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(
      /^audit verify: FAILED: record 5: missing, but the pinned anchor says it existed/,
    );
  });

  it('usage mistakes exit 2 with the usage', async () => {
    const run = await modelship(['audit', 'verify', '--anchor', 'nonsense']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--anchor must be SEQ:HASH/);
    expect((await modelship(['audit', 'frobnicate'])).stderr).toMatch(
      /unknown command "frobnicate"[\s\S]*Usage/,
    );
  });
});
