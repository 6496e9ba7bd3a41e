/**
 * The release layer's folds over audit records: when an artifact served where, what the run that
 * brought it judged, and how it stopped; the promotion gate on that evidence; quarantine after an
 * automatic rollback, and its lifting. Records are built as DeployModel and MonitorModel write them.
 */
import { describe, expect, it } from 'vitest';
import { type LifeRecord, servingPeriods } from '../../release/artifact-life.ts';
import { evidenceLines, judgePromotion } from '../../release/promotion.ts';
import { QUARANTINE_LIFTED, quarantineMessage, quarantineOf, quarantines } from '../../release/quarantine.ts';
import type { PromotionSpec } from '../../specs/promotion-schema.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00.000Z');

/** A log under construction: each record one hour after the one before unless told. */
function log() {
  const records: LifeRecord[] = [];
  let hour = 0;
  const add = (
    step: string,
    details: Record<string, unknown>,
    options: { env?: string; run?: string; actor?: string; model?: string; atHour?: number } = {},
  ) => {
    hour = options.atHour ?? hour + 1;
    const env = options.env ?? 'staging';
    records.push({
      seq: records.length + 1,
      time: new Date(T0 + hour * HOUR).toISOString(),
      model: options.model ?? 'iris',
      environment: env,
      commit: 'c'.repeat(40),
      workflowId: step.startsWith('monitor.') ? `monitor/${env}/iris` : `deploy/${env}/iris`,
      runId: options.run ?? 'run-1',
      step,
      actor: options.actor ?? 'workflow',
      details: details as LifeRecord['details'],
    });
    return records;
  };
  return { records, add };
}

const promotion = (overrides: Partial<PromotionSpec> = {}): PromotionSpec => ({
  from: 'staging',
  minSoak: '24h',
  minSoakMs: 24 * HOUR,
  require: [],
  ...overrides,
});
const at = (hours: number) => new Date(T0 + hours * HOUR);

describe('servingPeriods', () => {
  it('follows an artifact from its promotion to its replacement, with verdicts and approvers', () => {
    const { records, add } = log();
    add('analysis.pass', { step: 2, summary: 'pass: 0 errors' }, { run: 'run-2' });
    add('approval.approved', { step: 3, proof: 'signature' }, { run: 'run-2', actor: 'alice' });
    add('deployment.promoted', { version: 'aaaaaaaaaaaa', artifactSha256: A }, { run: 'run-2' });
    add('monitor.finding', { version: 'aaaaaaaaaaaa', key: 'input-drift:x', summary: 'x drifted' });
    add('deployment.promoted', { version: 'bbbbbbbbbbbb', artifactSha256: B }, { run: 'run-3' });
    const [period, ...rest] = servingPeriods(records, {
      model: 'iris',
      environment: 'staging',
      artifactSha256: A,
    });
    expect(rest).toEqual([]);
    expect(period).toMatchObject({
      version: 'aaaaaaaaaaaa',
      outcome: 'promoted',
      since: at(3).toISOString(),
      until: at(5).toISOString(),
      endedBy: 'replaced',
      verdicts: [{ step: 'analysis', outcome: 'pass' }],
      approvals: [{ approver: 'alice', proof: 'signature' }],
      findings: [{ key: 'input-drift:x' }],
    });
  });

  it('ends a period at a monitor rollback or a retirement, and ignores other environments and models', () => {
    const { records, add } = log();
    add('deployment.serving', { version: 'aaaaaaaaaaaa', artifactSha256: A });
    add('monitor.rolled-back', { version: 'aaaaaaaaaaaa', artifactSha256: A, reason: 'accuracy 40 %' });
    add('deployment.promoted', { version: 'aaaaaaaaaaaa', artifactSha256: A }, { env: 'production' });
    add('deployment.promoted', { version: 'aaaaaaaaaaaa', artifactSha256: A }, { model: 'other' });
    const periods = servingPeriods(records, { model: 'iris', environment: 'staging', artifactSha256: A });
    expect(periods).toHaveLength(1);
    expect(periods[0]).toMatchObject({
      outcome: 'serving',
      endedBy: 'rolled-back',
      rollbackReason: 'accuracy 40 %',
    });
  });
});

describe('judgePromotion', () => {
  it('passes an artifact that served in staging long enough, and says on what', () => {
    const { records, add } = log();
    add('deployment.promoted', { version: 'aaaaaaaaaaaa', artifactSha256: A });
    const evidence = judgePromotion(records, {
      model: 'iris',
      artifactSha256: A,
      promotion: promotion(),
      now: at(30),
    });
    expect(evidence).toMatchObject({ passed: true, problems: [], soakedMs: 29 * HOUR });
    expect(evidenceLines(evidence)[0]).toContain('passed staging: version aaaaaaaaaaaa promoted there');
    expect(evidenceLines(evidence)[0]).toContain('soaked 1d 5h');
  });

  it('refuses what never served there, what served too briefly, and what was rolled back', () => {
    const { records, add } = log();
    const never = judgePromotion(records, {
      model: 'iris',
      artifactSha256: A,
      promotion: promotion(),
      now: at(1),
    });
    expect(never.passed).toBe(false);
    expect(never.problems[0]).toContain('never served all traffic in staging');

    add('deployment.promoted', { version: 'aaaaaaaaaaaa', artifactSha256: A });
    const young = judgePromotion(records, {
      model: 'iris',
      artifactSha256: A,
      promotion: promotion(),
      now: at(3),
    });
    expect(young.problems).toEqual([
      expect.stringContaining('served in staging for 2h 0m so far, less than the 24h'),
    ]);

    // Replaced after 30 hours: it soaked, and that does not grow with time.
    add('deployment.promoted', { version: 'bbbbbbbbbbbb', artifactSha256: B }, { atHour: 31 });
    const replaced = judgePromotion(records, {
      model: 'iris',
      artifactSha256: A,
      promotion: promotion(),
      now: at(500),
    });
    expect(replaced).toMatchObject({ passed: true, soakedMs: 30 * HOUR });

    add(
      'monitor.rolled-back',
      { version: 'bbbbbbbbbbbb', artifactSha256: B, reason: 'accuracy 40 %' },
      { atHour: 80 },
    );
    const rolled = judgePromotion(records, {
      model: 'iris',
      artifactSha256: B,
      promotion: promotion(),
      now: at(500),
    });
    expect(rolled.passed).toBe(false);
    expect(rolled.problems[0]).toContain('rolled back in staging');
  });

  it('asks for the verdicts the spec requires', () => {
    const { records, add } = log();
    add('deployment.serving', { version: 'aaaaaaaaaaaa', artifactSha256: A });
    add('monitor.finding', { version: 'aaaaaaaaaaaa', key: 'prediction-drift', summary: 'drifted' });
    const evidence = judgePromotion(records, {
      model: 'iris',
      artifactSha256: A,
      promotion: promotion({
        minSoak: '0s',
        minSoakMs: 0,
        require: ['analysis', 'approval', 'quiet-monitor'],
      }),
      now: at(10),
    });
    expect(evidence.passed).toBe(false);
    expect(evidence.problems).toEqual([
      expect.stringContaining('no analysis or shadow step passed'),
      expect.stringContaining('nobody approved it in staging'),
      expect.stringContaining('raised 1 finding(s): prediction-drift'),
    ]);
  });

  it('counts nothing an older record without the artifact says, and nothing of another artifact', () => {
    const { records, add } = log();
    add('deployment.promoted', { version: 'aaaaaaaaaaaa' });
    add('deployment.promoted', { version: 'bbbbbbbbbbbb', artifactSha256: B });
    expect(
      judgePromotion(records, {
        model: 'iris',
        artifactSha256: A,
        promotion: promotion({ minSoakMs: 0 }),
        now: at(100),
      }).passed,
    ).toBe(false);
  });
});

describe('quarantine', () => {
  it('holds an artifact after a failed canary verdict or a monitor rollback, until lifted with a reason', () => {
    const { records, add } = log();
    add('deployment.rolled-back', { artifactSha256: A, verdict: 'fail', reason: 'error rate 9 %' });
    add(
      'monitor.rolled-back',
      { version: 'bbbbbbbbbbbb', artifactSha256: B, reason: 'accuracy 40 %' },
      { env: 'production' },
    );
    const held = quarantineOf(records, 'iris', A);
    expect(held).toMatchObject({ by: 'canary', environment: 'staging', reason: 'error rate 9 %' });
    expect(quarantineMessage(held as NonNullable<typeof held>)).toContain('modelship quarantine lift iris');
    expect(quarantineOf(records, 'iris', B)).toMatchObject({ by: 'monitor', environment: 'production' });
    // Another model's artifact of the same bytes is its own matter.
    expect(quarantineOf(records, 'other', A)).toBeUndefined();

    add(
      QUARANTINE_LIFTED,
      { artifactSha256: A, reason: 'the canary ran on a broken feature pipeline' },
      { actor: 'alice' },
    );
    expect(quarantineOf(records, 'iris', A)).toBeUndefined();
    expect(quarantines(records, 'iris').lifted[0]?.lifted).toMatchObject({ by: 'alice' });
    // Rolled back again after the lift: held again.
    add('deployment.rolled-back', { artifactSha256: A, verdict: 'fail', reason: 'again' });
    expect(quarantineOf(records, 'iris', A)?.reason).toBe('again');
  });

  it('quarantines nothing for a rollback that says nothing against the model', () => {
    const { records, add } = log();
    add('deployment.rolled-back', {
      artifactSha256: A,
      reason: 'the rollout was cancelled (superseded by a newer commit)',
    });
    add('deployment.rolled-back', {
      artifactSha256: A,
      verdict: 'inconclusive',
      reason: 'too little traffic',
    });
    add('deployment.rolled-back', { reason: 'an older record, no artifact', verdict: 'fail' });
    expect(quarantines(records, 'iris').inForce).toEqual([]);
  });
});
