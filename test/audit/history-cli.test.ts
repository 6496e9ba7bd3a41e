/**
 * `modelship history` as a user runs it: the real bin reading a real SQLite audit log written as
 * a worker writes it; the table, the JSON document against its schema, `--since`, and the
 * answers for a model, an environment or a log that is not there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingHistorySchema } from '../../audit/history-document.ts';
import { openAuditStore } from '../../audit/open.ts';
import { parseSince } from '../../cli/commands/history.ts';
import { repoPath } from '../support/paths.ts';
import { approved, at, bundleOf, canaryStep, firstServing, story } from './fixtures/history-records.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function modelship(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { MODELSHIP_HOME: _home, MODELSHIP_AUDIT_URL: _url, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [repoPath('bin/modelship.mjs'), ...args],
      {
        env: { ...inherited, ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const V1 = 'aaaaaaaaaaaa';
const V2 = 'bbbbbbbbbbbb';
const V3 = 'cccccccccccc';

/** A home whose log holds iris@staging: v1 first, v2 promoted, v3 rolled back; and a rejected cancer run. */
async function homeWithHistory(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'modelship-history-'));
  const log = story();
  firstServing(log.run('r1', 'c1'.repeat(20)), 0, V1);
  const second = log.run('r2', 'c2'.repeat(20));
  canaryStep(second, 10, V2, 25);
  approved(second, 11, 2, 'alice');
  second.decide(12, 'deployment.promoted', { version: V2, bundleDigest: bundleOf(V2), previous: V1 });
  const third = log.run('r3', 'c3'.repeat(20));
  canaryStep(third, 20, V3, 10);
  approved(third, 21, 2, 'bob', 'rejected');
  third.decide(22, 'deployment.rolled-back', {
    reason: 'step 2 (approval) was rejected by bob',
    stable: V2,
    candidate: V3,
  });
  const cancer = story('cancer', 'staging');
  cancer
    .run('x1', 'c9')
    .decide(0, 'deployment.rejected', { step: 'validating', type: 'ValidationFailed', message: 'too low' });
  const store = await openAuditStore(home, undefined, { checkpoints: false });
  for (const event of [...log.events, ...cancer.events]) await store.append(event);
  await store.close();
  return home;
}

describe('modelship history', () => {
  let home: string;
  const history = (...args: string[]) => modelship(['history', ...args, '--home', home]);
  // One log for every test (the helpers' temporary directories go after each test).
  beforeAll(async () => {
    home = await homeWithHistory();
  });
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('prints every version that served, newest first, with shares, outcomes and approvers', async () => {
    const run = await history('iris', '--env', 'staging');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(
      `iris@staging: what served when, newest first (audit log ${join(home, 'audit.db')})`,
    );
    expect(lines[2]).toMatch(/^VERSION\s+ROLE\s+FROM\s+TO\s+SHARE\s+CAME IN\s+ENDED\s+APPROVED BY$/);
    expect(lines[3]).toMatch(
      /^cccccccccccc {2}canary-only {2}2026-05-01 12:20:00Z {2}2026-05-01 12:22:00Z {2}max 10% +canary +rolled back in its canary +rejected by bob \(signature\)$/,
    );
    expect(lines[4]).toMatch(
      /^bbbbbbbbbbbb {2}stable +2026-05-01 12:10:00Z {2}serving +100% +promoted +- +alice \(signature\)$/,
    );
    expect(lines[5]).toMatch(
      /^aaaaaaaaaaaa {2}stable +2026-05-01 12:00:00Z {2}2026-05-01 12:12:00Z {2}100% +first version +promotion of bbbbbbbbbbbb +-$/,
    );
    expect(run.stdout).toContain(
      '  ended     rolled back in its canary at 2026-05-01 12:22:00Z: step 2 (approval) was rejected by bob',
    );
    expect(run.stdout).toContain('  traffic   2026-05-01 12:10:00Z 25% → 2026-05-01 12:12:00Z 100%');
  });

  it('prints the same as a JSON document of the published shape, and --since leaves out what ended before', async () => {
    const [run, since] = await Promise.all([
      history('iris', '--env', 'staging', '--json'),
      history('iris', '--env', 'staging', '--json', '--since', at(13)),
    ]);
    expect(run.code).toBe(0);
    const document = servingHistorySchema.parse(JSON.parse(run.stdout));
    expect(document.periods.map((period) => [period.version, period.role, period.to])).toEqual([
      [V3, 'canary-only', at(22)],
      [V2, 'stable', null],
      [V1, 'stable', at(12)],
    ]);
    expect(document.auditLog).toBe(join(home, 'audit.db'));
    const recent = servingHistorySchema.parse(JSON.parse(since.stdout));
    expect(recent.since).toBe(at(13));
    expect(recent.periods.map((period) => period.version)).toEqual([V3, V2]);
  });

  it('says no history was found, which log it read, and where the model does have history', async () => {
    const [wrongEnv, wrongModel, noLog] = await Promise.all([
      history('iris', '--env', 'production'),
      history('irs', '--env', 'staging'),
      modelship(['history', 'iris', '--env', 'staging', '--home', join(home, 'elsewhere')]),
    ]);
    expect(wrongEnv.code).toBe(1);
    expect(wrongEnv.stderr).toBe(
      `modelship: history: no history found for iris@production in the audit log at ${join(home, 'audit.db')}; iris has history in: staging\n`,
    );
    expect(wrongModel.code).toBe(1);
    expect(wrongModel.stderr).toContain('no history found for irs@staging in the audit log at');
    expect(wrongModel.stderr).toContain('no record names the model irs');
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toMatch(/^modelship: history: no audit log at .*elsewhere\/audit\.db/);
  });

  it('answers a model that never served, and refuses bad arguments with the usage', async () => {
    const [never, json, noEnv, badSince] = await Promise.all([
      history('cancer', '--env', 'staging'),
      history('cancer', '--env', 'staging', '--json'),
      history('iris'),
      history('iris', '--env', 'staging', '--since', 'yesterday'),
    ]);
    expect(never.code).toBe(0);
    expect(never.stdout).toMatch(/^cancer@staging: no version served traffic \(1 rollout run recorded in /);
    expect(servingHistorySchema.parse(JSON.parse(json.stdout)).periods).toEqual([]);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('history: name one model and --env');
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('--since must be an ISO 8601 date or time');
  });

  it('reads --since as a date, a time or a duration back from now', () => {
    const now = new Date('2026-05-08T12:00:00.000Z');
    expect(parseSince('7d', now)).toBe('2026-05-01T12:00:00.000Z');
    expect(parseSince('90m', now)).toBe('2026-05-08T10:30:00.000Z');
    expect(parseSince('2026-05-01', now)).toBe('2026-05-01T00:00:00.000Z');
    expect(parseSince('2026-05-01T12:00:00+02:00', now)).toBe('2026-05-01T10:00:00.000Z');
    expect(() => parseSince('last week', now)).toThrow(/--since must be/);
  });
});
