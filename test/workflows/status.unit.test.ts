/**
 * The `status` query and the Web UI details are pure functions of one state object: what a
 * person sees on the workflow page, checked without Temporal.
 */
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../analysis/judge.ts';
import type { Step } from '../../specs/schema.ts';
import { type DeploymentState, initialRollout, initialState } from '../../workflows/deployment-state.ts';
import { renderDetails } from '../../workflows/details.ts';
import { recordStepResult } from '../../workflows/rollout-plan.ts';
import { statusOf } from '../../workflows/status.ts';

const STEPS: Step[] = [
  { type: 'shadow', duration: '4s', durationMs: 4_000, minAgreement: 0.98 },
  { type: 'setWeight', weight: 50 },
  { type: 'analysis', duration: '8s', durationMs: 8_000, interval: '500ms', intervalMs: 500 },
  {
    type: 'approval',
    approvers: ['alice', 'bob'],
    timeout: '1h',
    timeoutMs: 3_600_000,
    description: 'Check the canary dashboard',
  },
  { type: 'setWeight', weight: 100 },
];

const PASS: Verdict = {
  outcome: 'pass',
  judge: 'sequential',
  reason:
    'candidate shown fine on every metric: errorRate: candidate 0/751 errors vs stable 0/751, ratio — (99 % interval 0–0.8), e-value 10^-0.30 < 10^2.22: below 1.25× stable',
  metrics: [
    {
      name: 'errorRate',
      unit: 'fraction',
      stable: 0,
      candidate: 0,
      limit: '≤ 1× stable',
      passed: true,
      evidence:
        'errorRate: candidate 0/751 errors vs stable 0/751, ratio — (99 % interval 0–0.8), e-value 10^-0.30 < 10^2.22: below 1.25× stable',
      interval: { of: 'candidate/stable rate ratio', lower: 0, upper: 0.8 },
    },
  ],
};

/** A rollout of iris v2 that passed shadow and analysis and waits on the approval step. */
function waitingState(): DeploymentState {
  const state = initialState({
    model: 'iris',
    environment: 'staging',
    commit: '0123456789abcdef0123',
    modelSource: 'models/iris/v2/model.onnx',
  });
  const rollout = initialRollout(STEPS);
  let progress = recordStepResult(rollout.progress, {
    index: 0,
    type: 'shadow',
    verdict: { ...PASS, judge: 'shadow', metrics: [] },
  });
  progress = recordStepResult(progress, { index: 1, type: 'setWeight', weight: 50 });
  progress = recordStepResult(progress, { index: 2, type: 'analysis', verdict: PASS });
  return {
    ...state,
    stage: 'awaiting-approval',
    dataPlane: { version: '1a2b3c4d5e6f', stable: '9f8e7d6c5b4a' },
    rollout: {
      ...rollout,
      progress,
      shadowAgreement: {
        stepIndex: 0,
        agreement: 0.9934,
        minAgreement: 0.98,
        evidence: '746/751 mirrored rows agree',
      },
    },
    pending: {
      stepIndex: 3,
      approvers: ['alice', 'bob'],
      until: '2030-01-01T00:00:00.000Z',
      description: 'Check the canary dashboard',
    },
  };
}

describe('statusOf', () => {
  it('derives the rollout position, the split and the last verdict from the planner progress', () => {
    const status = statusOf(waitingState());
    expect(status.rollout).toMatchObject({
      steps: [
        'shadow 4s (agreement ≥ 0.98)',
        'setWeight 50%',
        'analysis 8s',
        'approval by alice or bob',
        'setWeight 100%',
      ],
      stepIndex: 3,
      canaryWeight: 50,
      shadow: false,
      extensions: 0,
      shadowAgreement: { stepIndex: 0, agreement: 0.9934, minAgreement: 0.98 },
    });
    expect(status.lastVerdict).toEqual({ stepIndex: 2, verdict: PASS });
    expect(status.waitingFor).toEqual({
      stepIndex: 3,
      approvers: ['alice', 'bob'],
      until: '2030-01-01T00:00:00.000Z',
      description: 'Check the canary dashboard',
    });
    expect(status.modelSource).toBe('models/iris/v2/model.onnx');
  });

  it('answers with a copy: a later change to the state does not alter an answer already given', () => {
    const state = waitingState();
    const before = statusOf(state);
    state.history.push({ stage: 'promoting', at: 'now' });
    expect(before.history).toHaveLength(0);
  });
});

describe('renderDetails', () => {
  it('tells how to approve in the Web UI itself, with the exact update input, and from a terminal', () => {
    const markdown = renderDetails(waitingState());
    expect(markdown).toContain('**Waiting for approval** of step 4 (approval by alice or bob)');
    expect(markdown).toContain('Asked to check: Check the canary dashboard');
    expect(markdown).toContain('choose **Send an Update**, update name `approve`');
    expect(markdown).toContain('`{"approver":"alice","decision":"approve"}`');
    expect(markdown).toContain('`npx modelship approve iris --env staging --as alice`');
  });

  it('names versions by model path, shows the shadow agreement, and the verdict once, in words first', () => {
    const markdown = renderDetails(waitingState());
    expect(markdown).toContain('candidate `models/iris/v2/model.onnx` (version `1a2b3c4d5e6f`) 50%');
    expect(markdown).toContain(
      '**Shadow agreement** (step 1): 99.34 % of mirrored requests answered like stable',
    );
    expect(markdown).toContain('**pass: the candidate does as well as stable, with enough evidence**');
    expect(markdown).toContain(
      'errors: canary 0 % against stable 0 % (allowed ≤ 1× stable): fine, enough evidence',
    );
    // The statistics are there once, after the words.
    expect(markdown.split('candidate 0/751 errors').length - 1).toBe(1);
    expect(markdown.indexOf('fine, enough evidence')).toBeLessThan(markdown.indexOf('e-value'));
    expect(markdown).not.toMatch(/^\|/m);
  });

  it('says who approved each approval step, and who was refused and why', () => {
    const state = waitingState();
    delete state.pending;
    state.approvals.push(
      {
        stepIndex: 3,
        approver: 'mallory',
        decision: 'refused',
        reason: 'mallory is not an approver',
        at: 't1',
      },
      { stepIndex: 3, approver: 'alice', decision: 'approve', comment: 'dashboards fine', at: 't2' },
    );
    const markdown = renderDetails(state);
    expect(markdown).toContain(
      'step 4 (approval by alice or bob): mallory was refused at t1: mallory is not an approver',
    );
    expect(markdown).toContain(
      'step 4 (approval by alice or bob): approved by alice at t2: "dashboards fine"',
    );
    expect(markdown).not.toContain('Waiting for approval');
  });

  it('leads with the outcome, so a rolled-back run never reads like a promoted one', () => {
    const rolledBack = {
      ...waitingState(),
      stage: 'rolled-back' as const,
      rollback: { reason: 'step 3 failed', at: 't' },
    };
    delete rolledBack.pending;
    expect(renderDetails(rolledBack).split('\n')[2]).toContain('↩️ **Rolled back**');
    expect(renderDetails({ ...waitingState(), stage: 'promoted' }).split('\n')[2]).toContain(
      '✅ **Promoted**',
    );
  });

  it('shows offline metrics and the rejection, one line each', () => {
    const markdown = renderDetails({
      ...initialState({
        model: 'iris',
        environment: 'staging',
        commit: '0123456789abcdef0123',
        modelSource: 'models/iris/v2/model.onnx',
      }),
      stage: 'rejected',
      validation: [
        { name: 'accuracy', value: 0.62, passed: false },
        { name: 'latencyP99', value: 0.041, passed: true },
      ],
      rejection: { step: 'validating', type: 'ValidationFailed', message: 'accuracy 0.62 < min 0.85' },
    });
    expect(markdown).toContain('**iris** → `staging`: `models/iris/v2/model.onnx` at commit `0123456789ab`');
    expect(markdown).toContain('⛔ **Rejected**');
    expect(markdown).toContain('• accuracy 0.6200: **FAIL**');
    expect(markdown).toContain('• latencyP99 0.041 ms: pass');
    expect(markdown).toContain('**Rejected at validating** (ValidationFailed): accuracy 0.62 < min 0.85');
  });
});
