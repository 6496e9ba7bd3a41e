/**
 * The one owner of a DeployModel run's state (`deployment-state.ts`): its methods are the
 * workflow's message handlers (the `status` query, the `approve` update with its validator, the
 * `approve` signal) and the only writers of the state, in the manner of the samples'
 * `message-passing/safe-message-handlers` manager class. The status and the Web UI details are
 * pure functions of the state, refreshed by `publish()` after every change.
 *
 * Refusing an approval, accept-then-audit: the update's validator refuses only input that is not
 * an approval at all (null, `{}`, a string), which needs no trace. Whether the sender may decide
 * is judged by the handler, because a refusal must reach the audit log when it happens, and only
 * a handler can run activities: first the `verifyApproval` activity (the proof of who approves,
 * against the policy's keys and issuers: missing, forged, expired, replayed or wrongly scoped
 * proofs are refused there), then the pure rule (listed approver, four eyes on the verified
 * names and the verified origin, something pending). A refusal is audited with the claimed name,
 * the reason and the proof's fingerprint, then the handler throws an `ApplicationFailure`, so the
 * caller still gets it as a failed update. The signal handler audits its refusals the same way
 * (it cannot answer at all).
 */

import {
  ApplicationFailure,
  condition,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type ApprovalRequest,
  type ApproveInput,
  approvalProblem,
  parseApproveInput,
} from '../domain/approval.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import type { Step } from '../specs/schema.ts';
import { recordDecision, verifyApproval } from './activity-proxies.ts';
import {
  type ApprovalRecord,
  type DeploymentState,
  initialState,
  type PipelineStage,
  type RolloutState,
} from './deployment-state.ts';
import { renderDetails } from './details.ts';
import { type ApprovalReceipt, approveSignal, approveUpdate, statusQuery } from './messages.ts';
import type { ApprovalOutcome } from './rollout-plan.ts';
import { RolloutStageKey } from './search-attributes.ts';
import { type DeploymentStatus, statusOf } from './status.ts';

/** A refusal as the caller sees it: the reason, without a workflow stack trace. */
function approvalRefusal(message: string): ApplicationFailure {
  const failure = ApplicationFailure.create({ type: 'ApprovalRefused', message, nonRetryable: true });
  failure.stack = `ApprovalRefused: ${message}`;
  return failure;
}

/** An accepted decision, with how the approver proved who they are. */
type DecidedApproval = ApproveInput & Pick<ApprovalRecord, 'proof'>;

/** Facts the pipeline learns along the way, written as they arrive. */
type DeploymentFacts = Partial<
  Pick<
    DeploymentState,
    | 'artifact'
    | 'promotion'
    | 'scanFindings'
    | 'validation'
    | 'validationSummary'
    | 'signature'
    | 'policy'
    | 'fourEyes'
    | 'origin'
    | 'unsignedApprovals'
    | 'bundle'
    | 'dataPlane'
    | 'rejection'
  >
>;

/** What a `stage.entered` decision may say beside the stage. */
export interface StageFacts {
  /** The candidate's traffic share in percent, from this moment (a canary step). */
  weight?: number;
  /** The data plane's name of the candidate, and its bundle. */
  version?: string;
  bundleDigest?: string;
}

export class DeploymentRun {
  readonly state: DeploymentState;
  /**
   * Refused signals of runs started before refusals were audited at once: their histories
   * record the audit at the next stage change, so replaying them must do the same.
   */
  private readonly refusedBeforeAudit: { approver: string; problem: string }[] = [];

  constructor(
    readonly deployment: DeploymentRef,
    modelSource: string,
  ) {
    this.state = initialState({
      model: deployment.model,
      environment: deployment.environment,
      commit: deployment.commit,
      modelSource,
    });
  }

  /** Installs the handlers; call once, first thing in the workflow. */
  register(): void {
    setHandler(statusQuery, () => this.status());
    setHandler(approveUpdate, (input) => this.approveByUpdate(input), {
      validator: (input) => this.validateApproveInput(input),
    });
    setHandler(approveSignal, (input) => this.approveBySignal(input));
  }

  /** The `status` query. */
  status(): DeploymentStatus {
    return statusOf(this.state);
  }

  /** The update's validator: refuses what is not an approval at all (nothing to audit). */
  validateApproveInput(input: unknown): void {
    const parsed = parseApproveInput(input);
    if (typeof parsed === 'string') throw approvalRefusal(parsed);
  }

  /** The `approve` update: decides the pending step, or audits the refusal and fails the update. */
  async approveByUpdate(input: unknown): Promise<ApprovalReceipt> {
    const parsed = parseApproveInput(input);
    if (typeof parsed === 'string') throw approvalRefusal(parsed);
    const stepIndex = this.state.pending?.stepIndex ?? -1;
    // Added after rollouts had run: before it, the approver's name was taken as sent.
    if (patched('verified-approvals')) {
      const judged = await this.verify(parsed);
      if ('problem' in judged) {
        await this.auditRefusal(parsed.approver, judged.problem, stepIndex, 'update', judged.fingerprint);
        throw approvalRefusal(judged.problem);
      }
      this.decide(judged.decision);
      return { approver: judged.decision.approver, decision: judged.decision.decision, stepIndex };
    }
    const problem = this.problemWith(parsed);
    if (problem) {
      await this.auditRefusal(parsed.approver, problem, stepIndex, 'update');
      throw approvalRefusal(problem);
    }
    this.decide(parsed);
    return { approver: parsed.approver, decision: parsed.decision, stepIndex };
  }

  /** The `approve` signal: the same decision; a refusal cannot be answered, so it is audited. */
  async approveBySignal(input: unknown): Promise<void> {
    const parsed = parseApproveInput(input);
    if (patched('verified-approvals')) {
      const stepIndex = this.state.pending?.stepIndex ?? -1;
      if (typeof parsed === 'string') {
        await this.auditRefusal('unknown', parsed, stepIndex, 'signal');
        return;
      }
      const judged = await this.verify(parsed);
      if ('problem' in judged) {
        await this.auditRefusal(parsed.approver, judged.problem, stepIndex, 'signal', judged.fingerprint);
        return;
      }
      this.decide(judged.decision);
      return;
    }
    const problem = typeof parsed === 'string' ? parsed : this.problemWith(parsed);
    if (!problem && typeof parsed !== 'string') {
      this.decide(parsed);
      return;
    }
    const approver = typeof parsed === 'string' ? 'unknown' : parsed.approver;
    const stepIndex = this.state.pending?.stepIndex ?? -1;
    const reason = problem ?? 'refused';
    // Added after rollouts had run: before it, refusals were audited at the next stage change.
    if (patched('approval-refusal-audit')) {
      await this.auditRefusal(approver, reason, stepIndex, 'signal');
      return;
    }
    this.noteRefusal(approver, reason, stepIndex);
    this.refusedBeforeAudit.push({ approver, problem: reason });
  }

  /** Records what the pipeline learned and refreshes the details. */
  record(facts: DeploymentFacts): void {
    Object.assign(this.state, facts);
    this.publish();
  }

  /**
   * Moves to a stage: search attribute, current details and an audited decision. `facts` go into
   * the decision's details beside the stage (a canary step's weight and version), so that the
   * audit log alone can say what served when (`audit/serving-history.ts`).
   */
  async enter(stage: PipelineStage, facts: StageFacts = {}): Promise<void> {
    this.state.stage = stage;
    this.state.history.push({ stage, at: new Date().toISOString() });
    upsertSearchAttributes([{ key: RolloutStageKey, value: stage }]);
    this.publish();
    for (const refused of this.refusedBeforeAudit.splice(0)) {
      await recordDecision({
        deployment: this.deployment,
        decision: 'approval.refused',
        actor: refused.approver,
        details: refused,
      });
    }
    await recordDecision({
      deployment: this.deployment,
      decision: 'stage.entered',
      details: { stage, ...facts },
    });
  }

  /** The rollout part of the state; it exists from `startRollout` on. */
  get rollout(): RolloutState {
    if (!this.state.rollout) throw new Error('the rollout has not started');
    return this.state.rollout;
  }

  startRollout(rollout: RolloutState): void {
    this.state.rollout = rollout;
    this.publish();
  }

  /** Applies a change to the rollout state (progress, shadow, estimates) and refreshes the details. */
  updateRollout(change: Partial<RolloutState>): void {
    Object.assign(this.rollout, change);
    this.publish();
  }

  /** Stable is back at 100 %: the state says so, with the reason. */
  rolledBack(reason: string): void {
    this.state.rollback = { reason, at: new Date().toISOString() };
    const rollout = this.state.rollout;
    if (rollout) {
      rollout.progress = { ...rollout.progress, canaryWeight: 0 };
      rollout.shadow = false;
    }
    this.publish();
  }

  /**
   * Waits for a listed approver's decision on approval step `index`, at most its timeout; the
   * decision (or the timeout) is in the state and the audit log when this returns.
   */
  async awaitApproval(step: Extract<Step, { type: 'approval' }>, index: number): Promise<ApprovalOutcome> {
    this.takeDecision();
    this.state.pending = {
      stepIndex: index,
      approvers: step.approvers,
      until: new Date(Date.now() + step.timeoutMs).toISOString(),
      ...(step.description ? { description: step.description } : {}),
    };
    await this.enter('awaiting-approval');
    await condition(() => this.state.decision !== undefined, step.timeoutMs);
    const decision = this.takeDecision();
    delete this.state.pending;
    if (!decision) {
      this.state.approvals.push({
        stepIndex: index,
        approver: 'nobody',
        decision: 'timeout',
        at: new Date().toISOString(),
      });
      this.publish();
      await recordDecision({
        deployment: this.deployment,
        decision: 'approval.timed-out',
        details: { step: index + 1, timeout: step.timeout, approvers: step.approvers },
      });
      return { decision: 'timeout' };
    }
    await recordDecision({
      deployment: this.deployment,
      decision: decision.decision === 'approve' ? 'approval.approved' : 'approval.rejected',
      actor: decision.approver,
      details: {
        step: index + 1,
        ...(decision.comment ? { comment: decision.comment } : {}),
        ...(decision.proof
          ? {
              proof: decision.proof.method,
              proofFingerprint: decision.proof.fingerprint,
              ...(decision.proof.issuer ? { issuer: decision.proof.issuer } : {}),
            }
          : {}),
      },
    });
    return {
      decision: decision.decision,
      approver: decision.approver,
      ...(decision.comment ? { comment: decision.comment } : {}),
    };
  }

  /** Refreshes the Web UI's current details from the state. */
  publish(): void {
    setCurrentDetails(renderDetails(this.state));
  }

  /** The accepted decision, taken out of the state (read through a call: handlers set it). */
  private takeDecision(): DecidedApproval | undefined {
    const decision = this.state.decision;
    delete this.state.decision;
    return decision;
  }

  /**
   * Whether `request` may decide the pending step: its proof verified by the `verifyApproval`
   * activity, then the pure rule on the verified name. The step may be decided by another
   * message while the proof is checked; then this one is refused.
   */
  private async verify(
    request: ApprovalRequest,
  ): Promise<{ decision: DecidedApproval } | { problem: string; fingerprint?: string }> {
    const pending = this.state.pending;
    if (!pending) return { problem: 'no approval is pending for this rollout right now' };
    const info = workflowInfo();
    let verdict: Awaited<ReturnType<typeof verifyApproval>>;
    try {
      verdict = await verifyApproval({
        deployment: this.deployment,
        request,
        scope: {
          workflowId: info.workflowId,
          runId: info.runId,
          step: pending.stepIndex + 1,
          model: this.deployment.model,
          environment: this.deployment.environment,
          commit: this.deployment.commit,
          bundleDigest: this.state.bundle?.digest ?? '',
        },
        usedProofs: this.state.usedProofs,
      });
    } catch (error) {
      // The policy or an issuer's keys could not be read after retries: nobody is verified.
      const cause = error instanceof Error ? error.cause : undefined;
      const message =
        cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
      return { problem: `the approval could not be verified: ${message}` };
    }
    const fingerprint = verdict.fingerprint;
    const withPrint = fingerprint === undefined ? {} : { fingerprint };
    if (!verdict.accepted) return { problem: `${verdict.kind}: ${verdict.reason}`, ...withPrint };
    if (this.state.pending?.stepIndex !== pending.stepIndex) {
      return { problem: 'the step was decided while this approval was being verified', ...withPrint };
    }
    const decision: DecidedApproval = {
      approver: verdict.approver,
      decision: request.decision,
      ...(request.comment ? { comment: request.comment } : {}),
      ...(fingerprint !== undefined && verdict.method !== 'none'
        ? {
            proof: {
              method: verdict.method,
              fingerprint,
              ...(verdict.issuer ? { issuer: verdict.issuer } : {}),
            },
          }
        : {}),
    };
    const problem = approvalProblem(decision, this.state.pending, {
      environment: this.deployment.environment,
      author: this.deployment.author,
      fourEyes: this.state.fourEyes,
      origin: this.state.origin ?? undefined,
      identities: verdict.identities,
    });
    if (problem) return { problem, ...withPrint };
    if (fingerprint !== undefined) this.state.usedProofs.push(fingerprint);
    return { decision };
  }

  private problemWith(input: ApproveInput): string | undefined {
    return approvalProblem(input, this.state.pending, {
      environment: this.deployment.environment,
      author: this.deployment.author,
      fourEyes: this.state.fourEyes,
    });
  }

  /** An accepted decision: in the state and on screen at once; the loop audits it when it wakes. */
  private decide(input: DecidedApproval): void {
    const stepIndex = this.state.pending?.stepIndex ?? -1;
    this.state.decision = input;
    this.state.approvals.push({
      stepIndex,
      approver: input.approver,
      decision: input.decision,
      at: new Date().toISOString(),
      ...(input.comment ? { comment: input.comment } : {}),
      ...(input.proof ? { proof: input.proof } : {}),
    });
    delete this.state.pending;
    this.publish();
  }

  private noteRefusal(approver: string, reason: string, stepIndex: number): void {
    this.state.approvals.push({
      stepIndex,
      approver,
      decision: 'refused',
      reason,
      at: new Date().toISOString(),
    });
    this.publish();
  }

  private async auditRefusal(
    approver: string,
    reason: string,
    stepIndex: number,
    via: 'update' | 'signal',
    fingerprint?: string,
  ): Promise<void> {
    this.noteRefusal(approver, reason, stepIndex);
    await recordDecision({
      deployment: this.deployment,
      decision: 'approval.refused',
      actor: approver,
      details: {
        reason,
        via,
        // The name is as claimed: a refused approval proved nothing.
        claimed: true,
        ...(stepIndex >= 0 ? { step: stepIndex + 1 } : {}),
        ...(fingerprint === undefined ? {} : { proofFingerprint: fingerprint }),
      },
    });
  }
}
