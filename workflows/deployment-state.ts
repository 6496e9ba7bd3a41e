/**
 * Everything one DeployModel run knows about itself, in one plain object: the single home of a
 * deployment's state. `DeploymentRun` (`deployment-run.ts`) owns it and is the only writer; the
 * `status` query (`statusOf`, `status.ts`) and the Web UI's current details (`renderDetails`,
 * `details.ts`) are pure functions of it. Pure types and constructors, no Temporal.
 */
import type { AnalysisEstimate } from '../activities/step-estimates.ts';
import type { ApproveInput, PendingApproval, VerifiedOrigin } from '../domain/approval.ts';
import type { PipelineStage } from '../domain/stages.ts';
import type { Step } from '../specs/schema.ts';
import type { PolicyRuleResult } from '../supply-chain/policy/evaluate.ts';
import { initialProgress, type RolloutProgress } from './rollout-plan.ts';
import type { ValidationSummary } from './validation-summary.ts';

export type { PipelineStage } from '../domain/stages.ts';

/** One approval decision, as the audit log also has it. */
export interface ApprovalRecord {
  stepIndex: number;
  approver: string;
  decision: 'approve' | 'reject' | 'timeout' | 'refused';
  comment?: string;
  /** Why a `refused` message was refused. */
  reason?: string;
  /** How the approver proved who they are (absent: free text, where the policy allows it). */
  proof?: { method: 'signature' | 'oidc'; fingerprint: string; issuer?: string };
  at: string;
}

/** The staged rollout's part of the state, present once a rollout began. */
export interface RolloutState {
  /** The spec's steps, as parsed (durations in milliseconds beside their text). */
  steps: Step[];
  /** The planner's progress: the step index, the canary weight, extensions, the last verdict. */
  progress: RolloutProgress;
  shadow: boolean;
  /** How long each analysis step needs, estimated before traffic moved. */
  estimates?: AnalysisEstimate;
  /** The agreement measured by the most recent shadow step, kept after later steps ran. */
  shadowAgreement?: { stepIndex: number; agreement: number | null; minAgreement: number; evidence?: string };
}

/** The approval step the run waits on, and the deadline. */
export interface WaitingApproval extends PendingApproval {
  until: string;
}

export interface DeploymentState {
  model: string;
  environment: string;
  commit: string;
  /** Where the model comes from, as the spec names it (e.g. `models/iris/v2/model.onnx`). */
  modelSource: string;
  stage: PipelineStage;
  history: { stage: PipelineStage; at: string }[];
  artifact?: { sha256: string; sizeBytes: number };
  scanFindings?: number;
  validation?: { name: string; value: number; passed: boolean }[];
  /** The approval-relevant part of the validation report (`validation-summary.ts`); absent in older runs. */
  validationSummary?: ValidationSummary;
  /** One line: who verifiably signed the model directory, or that it is unsigned. */
  signature?: string;
  /** The evidence that the artifact passed `spec.promotion.from`, as lines for people. */
  promotion?: string[];
  /** The environment policy's verdicts, rule by rule. */
  policy?: PolicyRuleResult[];
  /** The environment policy's four-eyes rule, once read; undefined: production only. */
  fourEyes?: boolean;
  /** Who started the run, as verified from the token `apply` presented; null: no token was given. */
  origin?: VerifiedOrigin | null;
  /** Whether approvals without proof count (the policy's `identity.unsignedApprovals`). */
  unsignedApprovals?: 'allow' | 'refuse';
  /** Fingerprints of the proofs that decided something in this run: each counts once. */
  usedProofs: string[];
  bundle?: { digest: string; path: string };
  dataPlane?: { version: string; stable: string | null };
  rollout?: RolloutState;
  /** The approval step waiting for a decision, if any. */
  pending?: WaitingApproval;
  /** A decision accepted for `pending`, until the rollout loop takes it. */
  decision?: ApproveInput & Pick<ApprovalRecord, 'proof'>;
  approvals: ApprovalRecord[];
  rollback?: { reason: string; at: string };
  rejection?: { step: PipelineStage; type: string; message: string };
}

/** The state of a run that has just started. */
export function initialState(input: {
  model: string;
  environment: string;
  commit: string;
  modelSource: string;
}): DeploymentState {
  return { ...input, stage: 'resolving', history: [], approvals: [], usedProofs: [] };
}

/** The rollout part of the state before its first step. */
export function initialRollout(steps: Step[]): RolloutState {
  return { steps, progress: initialProgress(), shadow: false };
}
