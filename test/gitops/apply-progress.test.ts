/**
 * What a waiting `apply` (and `deploy`, `dev`) prints, from successive reads of the `status`
 * query; what it says when it supersedes a run, by the stage that run was in; and what it says
 * when Temporal goes away while it waits. Pure: the workflow tests see the same lines for real.
 */
import { describe, expect, it } from 'vitest';
import { cancelEffect } from '../../gitops/cancel-effect.ts';
import { lostConnectionLine, progressLines } from '../../gitops/follow-run.ts';
import type { DeploymentStatus } from '../../workflows/status.ts';

const WHERE = 'apply: iris@staging';

function status(overrides: Partial<DeploymentStatus>): DeploymentStatus {
  return {
    model: 'iris',
    environment: 'staging',
    commit: 'c0ffee',
    modelSource: 'models/iris/v2/model.onnx',
    stage: 'resolving',
    history: [],
    approvals: [],
    ...overrides,
  };
}

const rollout = (stepIndex: number) => ({
  steps: [
    'shadow 10m (agreement ≥ 0.95)',
    'setWeight 10%',
    'analysis 5m',
    'approval by alice',
    'setWeight 100%',
  ],
  stepIndex,
  canaryWeight: 10,
  shadow: false,
  extensions: 0,
});

const verdict = (outcome: 'pass' | 'fail', reason: string) => ({
  outcome,
  judge: 'sequential',
  metrics: [],
  reason,
});

describe('progress while apply waits', () => {
  it('tells the first stage, then only changes', () => {
    const first = status({ stage: 'validating' });
    expect(progressLines(WHERE, undefined, first)).toEqual([`${WHERE}: validating`]);
    expect(progressLines(WHERE, first, first)).toEqual([]);
  });

  it('names the step a rollout stage carries out, and each new verdict once', () => {
    const analysing = status({ stage: 'analysis', rollout: rollout(2) });
    expect(progressLines(WHERE, status({ stage: 'canary', rollout: rollout(1) }), analysing)).toEqual([
      `${WHERE}: analysis: step 3/5 (analysis 5m)`,
    ]);
    const judged = {
      ...analysing,
      lastVerdict: { stepIndex: 2, verdict: verdict('pass', 'candidate shown fine') },
    };
    expect(progressLines(WHERE, analysing, judged)).toEqual([
      `${WHERE}: step 3/5 (analysis 5m): pass: candidate shown fine`,
    ]);
    expect(progressLines(WHERE, judged, judged)).toEqual([]);
  });

  it('says who must approve and how, once, and then the decision', () => {
    const before = status({ stage: 'analysis', rollout: rollout(2) });
    const waiting = status({
      stage: 'awaiting-approval',
      rollout: rollout(3),
      waitingFor: { stepIndex: 3, approvers: ['alice', 'bob'], until: '2026-01-01T08:00:00.000Z' },
    });
    expect(progressLines(WHERE, before, waiting)).toEqual([
      `${WHERE}: awaiting-approval: step 4/5 (approval by alice)`,
      `${WHERE}: step 4: waiting until 2026-01-01T08:00:00.000Z for an approval by alice or bob`,
      `${WHERE}:   as alice: npx modelship approve iris --env staging --as alice (or in the Web UI: More Actions → Send an Update, name approve, Data {"approver":"alice","decision":"approve"})`,
      `${WHERE}:   as bob: npx modelship approve iris --env staging --as bob (or in the Web UI: More Actions → Send an Update, name approve, Data {"approver":"bob","decision":"approve"})`,
    ]);
    expect(progressLines(WHERE, waiting, waiting)).toEqual([]);
    const approved = status({
      stage: 'canary',
      rollout: rollout(4),
      approvals: [{ stepIndex: 3, approver: 'alice', decision: 'approve', comment: 'looks good', at: 'now' }],
    });
    expect(progressLines(WHERE, waiting, approved)).toEqual([
      `${WHERE}: step 4: approved by alice ("looks good")`,
      `${WHERE}: canary: step 5/5 (setWeight 100%)`,
    ]);
  });

  it('tells the post-promotion stage', () => {
    const promoted = status({ stage: 'promoted', rollout: rollout(5) });
    expect(progressLines(WHERE, status({ stage: 'promoting', rollout: rollout(5) }), promoted)).toEqual([
      `${WHERE}: promoted`,
    ]);
  });
});

describe('superseding: what cancelling the earlier run does', () => {
  it('a promoted run keeps its promotion; nothing rolls back', () => {
    expect(cancelEffect('promoted')).toMatch(
      /^it had already promoted its version .*the promotion stands and nothing rolls back/,
    );
    expect(cancelEffect('promoted')).not.toMatch(/rolls back first/);
  });

  it('a run in its rollout steps rolls back first', () => {
    for (const stage of ['shadow', 'canary', 'paused', 'analysis', 'awaiting-approval']) {
      expect(cancelEffect(stage)).toMatch(new RegExp(`^it rolls back first \\(it was at ${stage}\\)`));
    }
  });

  it('a run before any traffic moved just stops; an unknown stage says what depends on it', () => {
    expect(cancelEffect('validating')).toBe('it is stopped while validating, before any traffic moved');
    expect(cancelEffect(undefined)).toBe(
      'if it is past loading, it rolls back first unless it had already promoted',
    );
  });
});

describe('a lost connection while waiting', () => {
  it('reports the last stage seen and that the connection was lost, not a failure', () => {
    const line = lostConnectionLine('apply', 'iris@staging', 'deploy/staging/iris', {
      kind: 'lost',
      lastSeen: status({ stage: 'promoted' }),
      error: new Error('14 UNAVAILABLE: Connection refused'),
    });
    expect(line).toBe(
      'apply: iris@staging: lost the connection to Temporal while waiting for deploy/staging/iris (14 UNAVAILABLE: Connection refused); last seen at stage promoted (promoted; waiting to unload the previous version); the run itself is not affected: check it with `npx modelship status` once Temporal answers again',
    );
    expect(line).not.toMatch(/failed/);
  });
});
