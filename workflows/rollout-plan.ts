/**
 * The staged rollout's decisions, as pure functions: what to do next given the spec's steps and
 * what has happened so far. DeployModel only loops: plan, run the action, record its result.
 *
 * ```ts
 * let progress = initialProgress();
 * for (let action = planNextStep(steps, progress); ; action = planNextStep(steps, progress)) {
 *   if (action.kind === 'promote' || action.kind === 'rollback') break; // and act on it
 *   progress = recordStepResult(progress, await run(action));
 * }
 * ```
 *
 * Two rules shape it. A step that watches traffic (shadow, analysis) and ends inconclusive is
 * extended, up to a limit, and then rolled back: too little evidence never counts as a pass. And
 * a rollback always carries a reason a person can act on, with the numbers that caused it.
 */
import type { Verdict } from '../analysis/judge.ts';
import type { Step, StepKind } from '../specs/schema.ts';

/** Extensions of one inconclusive step before the rollout gives up on it. */
const DEFAULT_MAX_EXTENSIONS = 3;

type StepOf<K extends StepKind> = Extract<Step, { type: K }>;

/** The steps that watch live traffic and end in a verdict. */
export type WatchStep = StepOf<'shadow'> | StepOf<'analysis'>;

/** How an approval step ended: a listed approver decided, or nobody did in time. */
export type ApprovalOutcome =
  | { decision: 'approve' | 'reject'; approver: string; comment?: string }
  | { decision: 'timeout' };

/** What the workflow learned from running a step (or an extension of it) at `index`. */
export type StepResult =
  | { index: number; type: 'setWeight'; weight: number }
  | { index: number; type: 'pause' }
  | { index: number; type: 'shadow' | 'analysis'; verdict: Verdict }
  | { index: number; type: 'approval'; approval: ApprovalOutcome };

/** Where a rollout stands. Plain data: it lives in workflow state and the `status` query. */
export interface RolloutProgress {
  /** The step to run next; steps before it are done. Equals the step count once all are done. */
  nextStepIndex: number;
  /** The candidate's share of live traffic in percent right now (0 until a setWeight step). */
  canaryWeight: number;
  /**
   * Inconclusive verdicts at the current step, one per extension asked for. While it is at most
   * the maximum, the step is in that extension; one more rolls the rollout back.
   */
  extensions: number;
  /** The most recent result; a failure, rejection or inconclusive verdict here is acted on next. */
  last?: StepResult;
  /** The most recent verdict of any step, kept for people after later steps ran. */
  lastVerdict?: { index: number; verdict: Verdict };
}

/** Run step `index` of the spec; `canaryWeight` is the share the candidate has while it runs. */
type StepAction = {
  [K in StepKind]: { kind: K; step: StepOf<K>; index: number; canaryWeight: number };
}[StepKind];

/** What the workflow does next. */
export type PlannedAction =
  | StepAction
  | {
      /** Watch the same step again, keeping the window from the step's start so traffic adds up. */
      kind: 'extend';
      step: WatchStep;
      index: number;
      /** 1 for the first extension. */
      extension: number;
      maxExtensions: number;
      canaryWeight: number;
      /** The whole watch including this extension, in milliseconds: the judge's `durationMs`. */
      watchMs: number;
    }
  | { kind: 'promote'; canaryWeight: number }
  | {
      kind: 'rollback';
      /** For people and the audit log: which step, what happened, the numbers. */
      reason: string;
      index: number;
      /** The verdict behind the rollback, for its full table. */
      verdict?: Verdict;
    };

interface PlanOptions {
  /** Default `DEFAULT_MAX_EXTENSIONS`. */
  maxExtensions?: number;
}

/** A rollout that has not run any step: all traffic on stable. */
export function initialProgress(): RolloutProgress {
  return { nextStepIndex: 0, canaryWeight: 0, extensions: 0 };
}

/** The next action: roll back, extend, run the next step, or promote once every step is done. */
export function planNextStep(
  steps: readonly Step[],
  progress: RolloutProgress,
  options: PlanOptions = {},
): PlannedAction {
  const { last, nextStepIndex: index, canaryWeight } = progress;
  // Only a result that did not advance the rollout is still waiting for a decision.
  if (last && last.index === index) {
    const maxExtensions = options.maxExtensions ?? DEFAULT_MAX_EXTENSIONS;
    const blocked = decideBlocked(steps[index], last, progress, maxExtensions);
    if (blocked) return blocked;
  }
  const step = steps[index];
  if (!step) return { kind: 'promote', canaryWeight };
  return stepAction(step, index, canaryWeight);
}

/** A step as an action whose `kind` is the step's type: a switch lets TypeScript see that without a cast. */
function stepAction(step: Step, index: number, canaryWeight: number): StepAction {
  switch (step.type) {
    case 'shadow':
      return { kind: step.type, step, index, canaryWeight };
    case 'setWeight':
      return { kind: step.type, step, index, canaryWeight };
    case 'pause':
      return { kind: step.type, step, index, canaryWeight };
    case 'analysis':
      return { kind: step.type, step, index, canaryWeight };
    case 'approval':
      return { kind: step.type, step, index, canaryWeight };
  }
}

/** The progress after a step (or extension) ran; pass the returned value to `planNextStep`. */
export function recordStepResult(progress: RolloutProgress, result: StepResult): RolloutProgress {
  const next = { ...progress, last: result };
  const advance = (): RolloutProgress => ({ ...next, nextStepIndex: result.index + 1, extensions: 0 });
  switch (result.type) {
    case 'setWeight':
      return { ...advance(), canaryWeight: result.weight };
    case 'pause':
      return advance();
    case 'approval':
      return result.approval.decision === 'approve' ? advance() : { ...next, nextStepIndex: result.index };
    case 'shadow':
    case 'analysis': {
      const withVerdict = { ...next, lastVerdict: { index: result.index, verdict: result.verdict } };
      if (result.verdict.outcome === 'pass') {
        return { ...withVerdict, nextStepIndex: result.index + 1, extensions: 0 };
      }
      if (result.verdict.outcome === 'fail') return { ...withVerdict, nextStepIndex: result.index };
      // `continue` at the end of a watch means the time ran out undecided: inconclusive.
      return { ...withVerdict, nextStepIndex: result.index, extensions: progress.extensions + 1 };
    }
  }
}

/** The action for a step whose last result did not let the rollout advance, if any. */
function decideBlocked(
  step: Step | undefined,
  last: StepResult,
  progress: RolloutProgress,
  maxExtensions: number,
): PlannedAction | undefined {
  const where = `step ${last.index + 1} (${last.type})`;
  const rollback = (reason: string, verdict?: Verdict): PlannedAction => ({
    kind: 'rollback',
    reason,
    index: last.index,
    ...(verdict ? { verdict } : {}),
  });
  if (last.type === 'approval') {
    const outcome = last.approval;
    if (outcome.decision === 'timeout') {
      const timeout = step?.type === 'approval' ? ` after ${step.timeout}` : '';
      return rollback(`${where} timed out${timeout} without a decision`);
    }
    if (outcome.decision === 'reject') {
      const comment = outcome.comment ? `: "${outcome.comment}"` : '';
      return rollback(`${where} rejected by ${outcome.approver}${comment}`);
    }
    return undefined;
  }
  if (last.type !== 'shadow' && last.type !== 'analysis') return undefined;
  const { verdict } = last;
  if (verdict.outcome === 'pass') return undefined;
  if (verdict.outcome === 'fail') return rollback(`${where} failed: ${verdict.reason}`, verdict);
  // A step that cannot be watched again (the steps changed under a resumed rollout) gets no
  // extension: an undecided watch must never slip through to the next step.
  const watchable = step?.type === 'shadow' || step?.type === 'analysis';
  if (!watchable) return rollback(`${where} inconclusive and cannot be extended: ${verdict.reason}`, verdict);
  if (progress.extensions > maxExtensions) {
    const extensions = `${maxExtensions} extension${maxExtensions === 1 ? '' : 's'}`;
    return rollback(`${where} inconclusive after ${extensions}: ${verdict.reason}`, verdict);
  }
  return {
    kind: 'extend',
    step,
    index: last.index,
    extension: progress.extensions,
    maxExtensions,
    canaryWeight: progress.canaryWeight,
    watchMs: step.durationMs * (progress.extensions + 1),
  };
}
