/**
 * The fold of audit records into what served when (`audit/serving-history.ts`), over records
 * written the way the workflows write them: every way a version comes (first version, promoted,
 * restored by the monitor) and goes (promotion of another, its canary rolled back, the monitor's
 * rollback, retirement, a run that vanished), a rollout still running, and logs from before the
 * canary stage carried its weight.
 */
import { describe, expect, it } from 'vitest';
import { type ServingHistory, servingHistorySchema } from '../../audit/history-document.ts';
import { foldServingHistory, periodsSince } from '../../audit/serving-history.ts';
import {
  approved,
  at,
  bundleOf,
  canaryStep,
  firstServing,
  type Story,
  story,
} from './fixtures/history-records.ts';

const KEY = { model: 'iris', environment: 'staging' };
const V1 = 'aaaaaaaaaaaa';
const V2 = 'bbbbbbbbbbbb';
const V3 = 'cccccccccccc';

function fold(log: Story) {
  return foldServingHistory(log.records(), KEY);
}

/** v1 serves from minute 0; v2 goes through 25 %, an approval and 100 %, promoted at minute 12. */
function promotedStory(): Story {
  const log = story();
  firstServing(log.run('r1', 'c1'), 0, V1);
  const run = log.run('r2', 'c2');
  run.decide(10, 'origin.verified', { issuer: 'github-actions' }, 'octocat');
  canaryStep(run, 10, V2, 25);
  approved(run, 11, 2, 'alice');
  canaryStep(run, 11, V2, 100);
  run.decide(12, 'stage.entered', { stage: 'promoted' });
  run.decide(12, 'deployment.promoted', { version: V2, bundleDigest: bundleOf(V2), previous: V1 });
  return log;
}

describe('what served when', () => {
  it("a model's first version serves all traffic from its serving decision, and still serves", () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    const { periods, runs } = fold(log);
    expect(runs).toBe(1);
    expect(periods).toEqual([
      {
        version: V1,
        bundleDigest: bundleOf(V1),
        commit: 'c1',
        role: 'stable',
        began: 'first-version',
        from: at(0),
        to: null,
        ended: null,
        maxShare: 100,
        traffic: [{ at: at(0), share: 100 }],
        rollout: {
          workflowId: 'deploy/staging/iris',
          runId: 'r1',
          commit: 'c1',
          outcome: 'serving',
          approvals: [],
        },
      },
    ]);
  });

  it('a promoted version serves from its first canary share; the one it replaced ends at the promotion', () => {
    const [v2, v1] = fold(promotedStory()).periods;
    expect(v2).toMatchObject({
      version: V2,
      bundleDigest: bundleOf(V2),
      commit: 'c2',
      role: 'stable',
      began: 'promoted',
      from: at(10),
      to: null,
      maxShare: 100,
      traffic: [
        { at: at(10), share: 25 },
        { at: at(11), share: 100 },
      ],
      rollout: {
        runId: 'r2',
        outcome: 'promoted',
        startedBy: 'octocat',
        approvals: [
          {
            step: 2,
            decision: 'approved',
            approver: 'alice',
            method: 'signature',
            proofFingerprint: 'sha256:alice',
            at: at(11),
          },
        ],
      },
    });
    // Stable gave the candidate its share, and left at the promotion.
    expect(v1).toMatchObject({
      version: V1,
      to: at(12),
      ended: { how: 'promotion', at: at(12), by: V2 },
      traffic: [
        { at: at(0), share: 100 },
        { at: at(10), share: 75 },
        { at: at(11), share: 0 },
      ],
    });
  });

  it('a candidate rolled back during its canary is listed as canary-only with its largest share', () => {
    const log = promotedStory();
    const run = log.run('r3', 'c3');
    canaryStep(run, 20, V3, 10);
    canaryStep(run, 21, V3, 30);
    approved(run, 22, 3, 'bob', 'rejected');
    run.decide(22, 'stage.entered', { stage: 'rolling-back' });
    run.decide(23, 'deployment.rolled-back', {
      reason: 'step 3 (approval) was rejected by bob',
      stable: V2,
      candidate: V3,
    });
    const [v3, v2] = fold(log).periods;
    expect(v3).toMatchObject({
      version: V3,
      role: 'canary-only',
      began: 'canary',
      from: at(20),
      to: at(23),
      maxShare: 30,
      ended: { how: 'canary-rollback', at: at(23), reason: 'step 3 (approval) was rejected by bob' },
      rollout: {
        outcome: 'rolled-back',
        reason: 'step 3 (approval) was rejected by bob',
        approvals: [{ decision: 'rejected', approver: 'bob', method: 'signature' }],
      },
    });
    // Stable never stopped serving: back to all traffic at the rollback.
    expect(v2).toMatchObject({ version: V2, to: null, ended: null });
    expect(v2?.traffic.slice(-3)).toEqual([
      { at: at(20), share: 90 },
      { at: at(21), share: 70 },
      { at: at(23), share: 100 },
    ]);
  });

  it('a candidate rolled back before any traffic share (shadow only, or a failed first look) is not listed', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    const run = log.run('r2', 'c2');
    run.decide(5, 'stage.entered', { stage: 'shadow' });
    run.decide(6, 'shadow.fail', { step: 1 });
    run.decide(6, 'deployment.rolled-back', { reason: 'step 1 (shadow) failed', stable: V1, candidate: V2 });
    const { periods, runs } = fold(log);
    expect(runs).toBe(2);
    expect(periods.map((period) => period.version)).toEqual([V1]);
    expect(periods[0]?.to).toBeNull();
  });

  it("the monitor's rollback ends the promoted version and restores the one before, with its origin", () => {
    const log = promotedStory();
    log
      .monitor('m2', 'c2')
      .decide(12, 'monitor.started', { version: V2, bundleDigest: bundleOf(V2), intervalMs: 1000 })
      .decide(30, 'monitor.finding', { version: V2, key: 'performance:accuracy' })
      .decide(30, 'monitor.rolled-back', {
        version: V2,
        bundleDigest: bundleOf(V2),
        restored: V1,
        restoredBundleDigest: bundleOf(V1),
        reason: 'live accuracy 0.61 below its floor 0.9 (monitor monitor/staging/iris)',
      })
      .decide(30, 'monitor.ended', { version: V2, because: 'rolled back' });
    const [restored, v2, v1] = fold(log).periods;
    expect(v2).toMatchObject({
      version: V2,
      to: at(30),
      ended: {
        how: 'monitor-rollback',
        by: V1,
        reason: 'live accuracy 0.61 below its floor 0.9 (monitor monitor/staging/iris)',
      },
    });
    expect(restored).toMatchObject({
      version: V1,
      bundleDigest: bundleOf(V1),
      commit: 'c1',
      role: 'stable',
      began: 'restored',
      from: at(30),
      to: null,
      traffic: [{ at: at(30), share: 100 }],
      rollout: { runId: 'r1', outcome: 'serving' },
    });
    expect(v1).toMatchObject({ version: V1, ended: { how: 'promotion', by: V2 } });
  });

  it('retirement ends what serves, and a later first version starts afresh', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    log
      .run('r2', 'c2')
      .decide(40, 'retire.started', { specPath: 'specs/iris.yaml' })
      .decide(41, 'deployment.retired', { draining: [V1] });
    firstServing(log.run('r3', 'c3'), 50, V2);
    const [v2, v1] = fold(log).periods;
    expect(v1).toMatchObject({ version: V1, to: at(41), ended: { how: 'retired', at: at(41) } });
    expect(v2).toMatchObject({ version: V2, began: 'first-version', from: at(50), to: null });
  });

  it('a rollout still running shows its candidate in canary and stable with the share it has now', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    const run = log.run('r2', 'c2');
    canaryStep(run, 10, V2, 10);
    run.decide(10, 'stage.entered', { stage: 'analysis' });
    run.decide(11, 'analysis.pass', { step: 2 });
    run.decide(11, 'stage.entered', { stage: 'awaiting-approval' });
    const [v2, v1] = fold(log).periods;
    expect(v2).toMatchObject({
      version: V2,
      role: 'canary',
      to: null,
      ended: null,
      maxShare: 10,
      rollout: { outcome: 'running', approvals: [] },
    });
    expect(v1).toMatchObject({ version: V1, to: null, traffic: [{ share: 100 }, { share: 90 }] });
  });

  it('a run that vanished without an outcome ends its canary when the next run of the id starts', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    canaryStep(log.run('r2', 'c2'), 10, V2, 20);
    log.run('r2', 'c2').decide(11, 'stage.entered', { stage: 'analysis' });
    firstServing(log.run('r3', 'c3'), 30, V1);
    const [v2, v1] = fold(log).periods;
    expect(v2).toMatchObject({
      version: V2,
      role: 'canary-only',
      to: at(11),
      ended: { how: 'unknown', at: at(11) },
      rollout: { outcome: 'unknown' },
    });
    // The same version deployed again while it serves: one period, not two, with all traffic.
    expect(v1).toMatchObject({ version: V1, from: at(0), to: null });
    expect(v1?.traffic.map((change) => change.share)).toEqual([100, 80, 100]);
  });

  it('a different version taking all traffic without a rollout replaces the one serving', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    firstServing(log.run('r2', 'c2'), 5, V2);
    const [v2, v1] = fold(log).periods;
    expect(v1?.ended).toEqual({ how: 'replaced', at: at(5), by: V2 });
    expect(v2).toMatchObject({ began: 'direct', from: at(5) });
  });

  it('an approval timeout and an unsigned approval say so', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    const run = log.run('r2', 'c2');
    canaryStep(run, 10, V2, 5);
    run.decide(11, 'approval.approved', { step: 2 }, 'carol');
    run.decide(20, 'approval.timed-out', { step: 3, timeout: '1m', approvers: ['dave'] });
    run.decide(20, 'deployment.rolled-back', {
      reason: 'step 3 (approval) timed out',
      stable: V1,
      candidate: V2,
    });
    expect(fold(log).periods[0]?.rollout?.approvals).toEqual([
      { step: 2, decision: 'approved', approver: 'carol', method: 'unsigned', at: at(11) },
      { step: 3, decision: 'timed-out', approver: null, method: null, at: at(20) },
    ]);
  });

  it('an older log without canary weights still lists the candidate, its shares unknown', () => {
    const log = story();
    firstServing(log.run('r1', 'c1'), 0, V1);
    const run = log.run('r2', 'c2');
    run.decide(10, 'stage.entered', { stage: 'canary' });
    run.decide(11, 'analysis.fail', { step: 2 });
    run.decide(12, 'deployment.rolled-back', {
      reason: 'step 2 (analysis) failed',
      stable: V1,
      candidate: V2,
    });
    const older = story();
    firstServing(older.run('r1', 'c1'), 0, V1);
    const promoting = older.run('r2', 'c2');
    promoting.decide(10, 'stage.entered', { stage: 'canary' });
    promoting.decide(12, 'deployment.promoted', { version: V2, previous: V1 });
    expect(fold(log).periods[0]).toMatchObject({
      version: V2,
      bundleDigest: null,
      role: 'canary-only',
      from: at(10),
      maxShare: null,
      traffic: [{ at: at(10), share: null }],
    });
    expect(fold(older).periods[0]).toMatchObject({
      version: V2,
      began: 'promoted',
      from: at(10),
      maxShare: 100,
      traffic: [
        { at: at(10), share: null },
        { at: at(12), share: 100 },
      ],
    });
  });

  it('reads only the decisions of its own model and environment', () => {
    const log = promotedStory();
    const other = story('iris', 'production');
    firstServing(other.run('p1', 'c1'), 1, V3);
    const cancer = story('cancer', 'staging');
    firstServing(cancer.run('x1', 'c9'), 2, V3);
    const mixed = [...log.records(), ...other.records(), ...cancer.records()];
    expect(foldServingHistory(mixed, KEY).periods.map((period) => period.version)).toEqual([V2, V1]);
    expect(foldServingHistory([], KEY)).toEqual({ periods: [], runs: 0 });
  });

  it('--since keeps what served at or after the time; the document matches its published schema', () => {
    const log = promotedStory();
    const { periods } = fold(log);
    expect(periodsSince(periods, at(12)).map((period) => period.version)).toEqual([V2, V1]);
    expect(periodsSince(periods, at(13)).map((period) => period.version)).toEqual([V2]);
    const document: ServingHistory = {
      schemaVersion: 1,
      model: 'iris',
      environment: 'staging',
      auditLog: '/tmp/audit.db',
      since: null,
      periods,
    };
    expect(servingHistorySchema.parse(JSON.parse(JSON.stringify(document)))).toEqual(document);
  });
});
