/** `apply`'s decision for one spec against the latest run of its workflow, case by case. */
import { describe, expect, it } from 'vitest';
import { type ApplyTarget, decideApply, type ObservedRun } from '../../gitops/apply-decision.ts';

const target: ApplyTarget = { commit: 'c2', specDigest: 'd2' };
const running = (commit: string, specDigest?: string): ObservedRun => ({
  state: 'running',
  runId: 'r',
  commit,
  ...(specDigest ? { specDigest } : {}),
});
const closed = (specDigest: string, outcome?: string, status = 'COMPLETED'): ObservedRun => ({
  state: 'closed',
  runId: 'r',
  status,
  commit: 'c1',
  specDigest,
  ...(outcome ? { outcome } : {}),
});

describe('decideApply', () => {
  it('starts the first rollout of a deployment', () => {
    expect(decideApply(target, undefined)).toEqual({ action: 'start', why: 'first' });
  });

  it('leaves a rollout of the same commit and spec alone', () => {
    expect(decideApply(target, running('c2', 'd2'))).toEqual({ action: 'none', why: 'rolling-out' });
  });

  it('supersedes a rollout of another commit, or of the same commit with other text', () => {
    expect(decideApply(target, running('c1', 'd1'))).toEqual({ action: 'supersede' });
    expect(decideApply(target, running('c1', 'd2'))).toEqual({ action: 'supersede' });
    expect(decideApply(target, running('c2', 'd1'))).toEqual({ action: 'supersede' });
    // A run started before digests were recorded cannot be proven the same.
    expect(decideApply(target, running('c2'))).toEqual({ action: 'supersede' });
  });

  it.each(['serving', 'promoted', 'loaded'])('does nothing when the same spec ended %s', (outcome) => {
    expect(decideApply(target, closed('d2', outcome))).toEqual({ action: 'none', why: 'deployed' });
  });

  it('refuses to redeploy a spec that was rolled back or rejected until it changes', () => {
    expect(decideApply(target, closed('d2', 'rolled-back'))).toEqual({
      action: 'refuse',
      why: 'rolled-back',
    });
    expect(decideApply(target, closed('d2', 'rejected'))).toEqual({ action: 'refuse', why: 'rejected' });
    expect(decideApply(target, closed('d1', 'rolled-back'))).toEqual({ action: 'start', why: 'changed' });
  });

  it('starts again after a run that did not finish its job', () => {
    expect(decideApply(target, closed('d2', 'superseded'))).toEqual({ action: 'start', why: 'retry' });
    expect(decideApply(target, closed('d2', undefined, 'TERMINATED'))).toEqual({
      action: 'start',
      why: 'retry',
    });
    expect(decideApply(target, closed('d2', undefined, 'FAILED'))).toEqual({ action: 'start', why: 'retry' });
  });

  it('starts when the last run deployed another spec', () => {
    expect(decideApply(target, closed('d1', 'serving'))).toEqual({ action: 'start', why: 'changed' });
  });
});
