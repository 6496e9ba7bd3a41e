/**
 * planNextStep over the example rollout (shadow → 10 % → analysis → approval → 100 %), driven the
 * way DeployModel drives it: plan, pretend to run the action, record the result, plan again.
 */
import { describe, expect, it } from 'vitest';
import type { Outcome, Verdict } from '../../analysis/judge.ts';
import type { Step } from '../../specs/schema.ts';
import {
  type ApprovalOutcome,
  initialProgress,
  type PlannedAction,
  planNextStep,
  type RolloutProgress,
  recordStepResult,
  type StepResult,
} from '../../workflows/rollout-plan.ts';

const STEPS: Step[] = [
  { type: 'shadow', duration: '10m', durationMs: 600_000, minAgreement: 0.98 },
  { type: 'setWeight', weight: 10 },
  { type: 'analysis', duration: '5m', durationMs: 300_000, interval: '15s', intervalMs: 15_000 },
  { type: 'approval', approvers: ['alice'], timeout: '8h', timeoutMs: 28_800_000 },
  { type: 'setWeight', weight: 100 },
];

function verdict(outcome: Outcome, reason = `${outcome} reason`): Verdict {
  return { outcome, judge: 'threshold', metrics: [], reason };
}

/** What running an action produced, per step kind; watch steps take their verdicts in order. */
interface Script {
  verdicts?: Partial<Record<number, Outcome[]>>;
  approval?: ApprovalOutcome;
}

/** Runs the plan to its end; returns every action planned, with the progress it was planned from. */
function drive(script: Script, steps: Step[] = STEPS, maxExtensions?: number) {
  const verdicts = structuredClone(script.verdicts ?? {});
  const seen: { action: PlannedAction; progress: RolloutProgress }[] = [];
  let progress = initialProgress();
  for (let guard = 0; guard < 50; guard += 1) {
    const action = planNextStep(steps, progress, maxExtensions === undefined ? {} : { maxExtensions });
    seen.push({ action, progress });
    if (action.kind === 'promote' || action.kind === 'rollback') return seen;
    progress = recordStepResult(progress, resultOf(action, verdicts, script.approval));
  }
  throw new Error('the plan did not end');
}

function resultOf(
  action: PlannedAction,
  verdicts: Partial<Record<number, Outcome[]>>,
  approval: ApprovalOutcome = { decision: 'approve', approver: 'alice' },
): StepResult {
  switch (action.kind) {
    case 'setWeight':
      return { index: action.index, type: 'setWeight', weight: action.step.weight };
    case 'pause':
      return { index: action.index, type: 'pause' };
    case 'approval':
      return { index: action.index, type: 'approval', approval };
    case 'shadow':
    case 'analysis':
    case 'extend': {
      const outcome = verdicts[action.index]?.shift() ?? 'pass';
      return { index: action.index, type: action.step.type, verdict: verdict(outcome) };
    }
    default:
      throw new Error(`nothing to run for ${action.kind}`);
  }
}

const kinds = (seen: { action: PlannedAction }[]) =>
  seen.map(({ action }) => (action.kind === 'extend' ? `extend ${action.extension}` : action.kind));
const last = (seen: { action: PlannedAction }[]) => seen.at(-1)?.action;

describe('planNextStep over shadow → 10 % → analysis → approval → 100 %', () => {
  it('runs every step in order and promotes', () => {
    const seen = drive({});

    expect(kinds(seen)).toEqual(['shadow', 'setWeight', 'analysis', 'approval', 'setWeight', 'promote']);
    expect(last(seen)).toEqual({ kind: 'promote', canaryWeight: 100 });
  });

  it('tells the analysis step the weight it judges', () => {
    const analysis = drive({}).find(({ action }) => action.kind === 'analysis');

    expect(analysis?.action).toMatchObject({ kind: 'analysis', index: 2, canaryWeight: 10 });
  });

  it('rolls back on a failed analysis, with the verdict and its numbers in the reason', () => {
    const seen = drive({ verdicts: { 2: ['fail'] } });

    expect(kinds(seen)).toEqual(['shadow', 'setWeight', 'analysis', 'rollback']);
    expect(last(seen)).toMatchObject({
      kind: 'rollback',
      index: 2,
      reason: 'step 3 (analysis) failed: fail reason',
      verdict: { outcome: 'fail' },
    });
  });

  it('rolls back on a failed shadow before the candidate gets any traffic', () => {
    const seen = drive({ verdicts: { 0: ['fail'] } });

    expect(kinds(seen)).toEqual(['shadow', 'rollback']);
    expect(seen.at(-1)?.progress.canaryWeight).toBe(0);
  });

  it('rolls back when the approver rejects, naming them and their comment', () => {
    const seen = drive({ approval: { decision: 'reject', approver: 'alice', comment: 'p99 looks off' } });

    expect(kinds(seen)).toEqual(['shadow', 'setWeight', 'analysis', 'approval', 'rollback']);
    expect(last(seen)).toEqual({
      kind: 'rollback',
      index: 3,
      reason: 'step 4 (approval) rejected by alice: "p99 looks off"',
    });
  });

  it('rolls back when nobody approves in time', () => {
    expect(last(drive({ approval: { decision: 'timeout' } }))).toMatchObject({
      kind: 'rollback',
      reason: 'step 4 (approval) timed out after 8h without a decision',
    });
  });

  it('extends an inconclusive analysis and goes on once an extension passes', () => {
    const seen = drive({ verdicts: { 2: ['inconclusive', 'inconclusive', 'pass'] } });

    expect(kinds(seen)).toEqual([
      'shadow',
      'setWeight',
      'analysis',
      'extend 1',
      'extend 2',
      'approval',
      'setWeight',
      'promote',
    ]);
    // Each extension watches the same step longer; the window keeps the traffic from its start.
    expect(seen.slice(3, 5).map(({ action }) => action)).toMatchObject([
      { kind: 'extend', index: 2, canaryWeight: 10, maxExtensions: 3, watchMs: 10 * 60_000 },
      { kind: 'extend', index: 2, canaryWeight: 10, maxExtensions: 3, watchMs: 15 * 60_000 },
    ]);
    expect(seen[5]?.progress.extensions).toBe(0);
  });

  it('rolls back an analysis still inconclusive after 3 extensions: never a pass by default', () => {
    const seen = drive({ verdicts: { 2: Array<Outcome>(4).fill('inconclusive') } });

    expect(kinds(seen)).toEqual([
      'shadow',
      'setWeight',
      'analysis',
      'extend 1',
      'extend 2',
      'extend 3',
      'rollback',
    ]);
    expect(last(seen)).toMatchObject({
      kind: 'rollback',
      reason: 'step 3 (analysis) inconclusive after 3 extensions: inconclusive reason',
    });
  });

  it('extends an inconclusive shadow too, and honours a lower limit', () => {
    const seen = drive({ verdicts: { 0: ['inconclusive', 'inconclusive'] } }, STEPS, 1);

    expect(kinds(seen)).toEqual(['shadow', 'extend 1', 'rollback']);
    expect(last(seen)).toMatchObject({
      reason: 'step 1 (shadow) inconclusive after 1 extension: inconclusive reason',
    });
  });

  it('treats a watch that ended still undecided (continue) as inconclusive', () => {
    const seen = drive({ verdicts: { 2: ['continue', 'pass'] } });

    expect(kinds(seen).slice(2, 5)).toEqual(['analysis', 'extend 1', 'approval']);
  });

  it('keeps the last verdict for people after later steps ran', () => {
    const seen = drive({ verdicts: { 2: ['pass'] } });
    const atApproval = seen.find(({ action }) => action.kind === 'approval');

    expect(atApproval?.progress.lastVerdict).toEqual({ index: 2, verdict: verdict('pass') });
  });

  it('never promotes past a failed step, even if the steps it was planned from are gone', () => {
    const failed = recordStepResult(
      { nextStepIndex: 2, canaryWeight: 10, extensions: 0 },
      { index: 2, type: 'analysis', verdict: verdict('fail') },
    );

    expect(planNextStep(STEPS.slice(0, 2), failed)).toMatchObject({ kind: 'rollback', index: 2 });
  });

  it('promotes at once when resumed after the last step', () => {
    const progress: RolloutProgress = { nextStepIndex: 5, canaryWeight: 100, extensions: 0 };

    expect(planNextStep(STEPS, progress)).toEqual({ kind: 'promote', canaryWeight: 100 });
  });
});
