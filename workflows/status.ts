/**
 * What a running DeployModel exposes about itself through the `status` query: a pure function of
 * the run's one state object (`deployment-state.ts`), so it is unit-tested without Temporal. The
 * Web UI's "current details" markdown is derived from the same state in `details.ts`.
 */
import type { AnalysisEstimate } from '../activities/step-estimates.ts';
import type { SupplyChainReport } from '../activities/supply-chain.ts';
import type { Verdict } from '../analysis/judge.ts';
import { formatDuration } from '../specs/duration.ts';
import { describeStep } from '../specs/steps.ts';
import type { DeploymentState } from './deployment-state.ts';

export type { PipelineStage } from './deployment-state.ts';

/**
 * The `status` query's answer: the state's facts as they are, and the rollout, the last verdict
 * and the waiting approval in the shape clients read (steps in words, step indexes).
 */
export type DeploymentStatus = Pick<
  DeploymentState,
  | 'model'
  | 'environment'
  | 'commit'
  | 'modelSource'
  | 'stage'
  | 'history'
  | 'artifact'
  | 'validation'
  | 'scanFindings'
  | 'signature'
  | 'policy'
  | 'bundle'
  | 'dataPlane'
  | 'approvals'
  | 'rollback'
  | 'rejection'
> & {
  rollout?: {
    /** One short description per spec step, e.g. `setWeight 10%`. */
    steps: string[];
    /** The step running now (or next). */
    stepIndex: number;
    canaryWeight: number;
    shadow: boolean;
    /** Inconclusive watches of the current step so far. */
    extensions: number;
    /** How long each analysis step needs, estimated before traffic moved. */
    estimates?: AnalysisEstimate;
    /** The agreement the last shadow step measured (a fraction), against its minimum. */
    shadowAgreement?: { stepIndex: number; agreement: number | null; minAgreement: number };
  };
  lastVerdict?: { stepIndex: number; verdict: Verdict };
  waitingFor?: { stepIndex: number; approvers: string[]; until: string; description?: string };
};

/** The `status` query's answer, derived from the run's state. */
export function statusOf(state: DeploymentState): DeploymentStatus {
  const { rollout, pending } = state;
  const progress = rollout?.progress;
  const lastVerdict = progress?.lastVerdict;
  return {
    model: state.model,
    environment: state.environment,
    commit: state.commit,
    modelSource: state.modelSource,
    stage: state.stage,
    history: state.history.map((entry) => ({ ...entry })),
    approvals: state.approvals.map((entry) => ({ ...entry })),
    ...(state.artifact ? { artifact: state.artifact } : {}),
    ...(state.validation ? { validation: state.validation } : {}),
    ...(state.scanFindings !== undefined ? { scanFindings: state.scanFindings } : {}),
    ...(state.signature ? { signature: state.signature } : {}),
    ...(state.policy ? { policy: state.policy } : {}),
    ...(state.bundle ? { bundle: state.bundle } : {}),
    ...(state.dataPlane ? { dataPlane: state.dataPlane } : {}),
    ...(rollout && progress
      ? {
          rollout: {
            steps: rollout.steps.map((step) => describeStep(step)),
            stepIndex: progress.nextStepIndex,
            canaryWeight: progress.canaryWeight,
            shadow: rollout.shadow,
            extensions: progress.extensions,
            ...(rollout.estimates ? { estimates: rollout.estimates } : {}),
            ...(rollout.shadowAgreement
              ? {
                  shadowAgreement: {
                    stepIndex: rollout.shadowAgreement.stepIndex,
                    agreement: rollout.shadowAgreement.agreement,
                    minAgreement: rollout.shadowAgreement.minAgreement,
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(lastVerdict ? { lastVerdict: { stepIndex: lastVerdict.index, verdict: lastVerdict.verdict } } : {}),
    ...(pending
      ? {
          waitingFor: {
            stepIndex: pending.stepIndex,
            approvers: pending.approvers,
            until: pending.until,
            ...(pending.description ? { description: pending.description } : {}),
          },
        }
      : {}),
    ...(state.rollback ? { rollback: state.rollback } : {}),
    ...(state.rejection ? { rejection: state.rejection } : {}),
  };
}

/**
 * One line per analysis step: `step 3 (analysis 5m at 10 %): a healthy candidate passes in ≈ 3.4m,
 * a ×2 error rate fails in ≈ 31.2m`, and a warning when the step is shorter than the pass needs.
 */
export function estimateLines(estimate: AnalysisEstimate): string[] {
  const { traffic } = estimate;
  const about = (ms: number | null) => (ms === null ? 'more than a week' : `≈ ${formatDuration(ms)}`);
  const basis =
    traffic.source === 'none'
      ? 'no traffic measured and no analysis.expectedTraffic in the spec'
      : `${traffic.requestsPerSecond.toFixed(1)} req/s, stable error rate ${(traffic.errorRate * 100).toFixed(2)} % (${traffic.source === 'spec' ? 'spec analysis.expectedTraffic' : `measured over ${traffic.observedSeconds ?? '?'} s`})`;
  return [
    `traffic: ${basis}`,
    ...estimate.steps.map((step) => {
      const head = `step ${step.stepIndex + 1} (analysis ${formatDuration(step.durationMs)} at ${step.candidateWeight} %)`;
      const fail =
        step.failMs === null ? '' : `, a ×${step.failEffect} error rate fails in ${about(step.failMs)}`;
      const warning = step.fits ? '' : ': likely inconclusive, the step is shorter than a pass needs';
      return `${head}: a healthy candidate passes in ${about(step.passMs)}${fail}${warning}`;
    }),
  ];
}

/** `verified: release, qa (3 files, root 1a2b3c4d5e6f…)` or `unsigned (no signature required)`. */
export function signatureLine(report: SupplyChainReport): string {
  const { signature } = report;
  if (signature.status === 'unsigned') return 'unsigned (no signature required)';
  const root = signature.rootDigest ? `, root ${signature.rootDigest.slice(0, 12)}…` : '';
  const files = `${signature.files.length} file${signature.files.length === 1 ? '' : 's'}`;
  return `verified: ${signature.verifiedKeys.join(', ')} (${files}${root})`;
}
