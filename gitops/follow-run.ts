/**
 * Following one DeployModel run while a command waits for it (`apply`, `deploy`, `dev`): what a
 * person at the terminal needs to see instead of minutes of silence. Each stage change, each new
 * verdict, and, when the rollout waits for an approval, who must approve and how. Read from the
 * `status` query by polling with short calls (query, describe), never a long poll, so that a lost
 * connection or a stop request is noticed within seconds; `progressLines` is the pure part.
 */

import { type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { isStageIn, STEP_STAGES } from '../domain/stages.ts';
import type { DeployModel, DeployModelResult } from '../workflows/deploy-model.ts';
import { statusQuery } from '../workflows/messages.ts';
import type { DeploymentStatus } from '../workflows/status.ts';

/** The `approve` update's input for `approver`, as typed into the Web UI's "Send an Update". */
export function approveInputJson(approver: string): string {
  return JSON.stringify({ approver, decision: 'approve' });
}

/** One line per approver telling how to approve from the terminal and from the Web UI. */
export function approvalLines(where: string, status: DeploymentStatus): string[] {
  const waiting = status.waitingFor;
  if (!waiting) return [];
  const step = waiting.stepIndex + 1;
  const who = waiting.approvers.join(' or ');
  const lines = [`${where}: step ${step}: waiting until ${waiting.until} for an approval by ${who}`];
  if (waiting.description) lines.push(`${where}:   ${waiting.description}`);
  for (const approver of waiting.approvers) {
    lines.push(
      `${where}:   as ${approver}: npx modelship approve ${status.model} --env ${status.environment} --as ${approver}` +
        ` (or in the Web UI: More Actions → Send an Update, name approve, Data ${approveInputJson(approver)})`,
    );
  }
  return lines;
}

/** What changed between two reads of the `status` query, as lines for people (pure). */
export function progressLines(
  where: string,
  previous: DeploymentStatus | undefined,
  next: DeploymentStatus,
): string[] {
  const lines: string[] = [];
  const rollout = next.rollout;
  const stepText = (index: number) => {
    const step = rollout?.steps[index];
    return step === undefined ? `step ${index + 1}` : `step ${index + 1}/${rollout?.steps.length} (${step})`;
  };
  const verdict = next.lastVerdict;
  const before = previous?.lastVerdict;
  if (
    verdict &&
    (before === undefined ||
      before.stepIndex !== verdict.stepIndex ||
      before.verdict.outcome !== verdict.verdict.outcome ||
      before.verdict.reason !== verdict.verdict.reason)
  ) {
    lines.push(
      `${where}: ${stepText(verdict.stepIndex)}: ${verdict.verdict.outcome}: ${verdict.verdict.reason}`,
    );
  }
  // Decisions first: an approval is what moved the rollout to its next stage.
  for (const approval of next.approvals.slice(previous?.approvals.length ?? 0)) {
    lines.push(`${where}: step ${approval.stepIndex + 1}: ${decisionText(approval)}`);
  }
  const stageChanged = previous === undefined || previous.stage !== next.stage;
  const stepChanged = previous?.rollout?.stepIndex !== rollout?.stepIndex;
  if (stageChanged || (stepChanged && rollout && next.stage !== 'awaiting-approval')) {
    const inRollout = rollout && rollout.stepIndex < rollout.steps.length && isStepStage(next.stage);
    lines.push(`${where}: ${next.stage}${inRollout ? `: ${stepText(rollout.stepIndex)}` : ''}`);
  }
  const nowWaiting = next.waitingFor;
  if (nowWaiting && previous?.waitingFor?.stepIndex !== nowWaiting.stepIndex) {
    lines.push(...approvalLines(where, next));
  }
  return lines;
}

function decisionText(approval: DeploymentStatus['approvals'][number]): string {
  const comment = approval.comment ? ` ("${approval.comment}")` : '';
  switch (approval.decision) {
    case 'approve':
      return `approved by ${approval.approver}${comment}`;
    case 'reject':
      return `rejected by ${approval.approver}${comment}`;
    case 'timeout':
      return 'no decision before the approval timed out';
    case 'refused':
      return `an approval by ${approval.approver} was refused: ${approval.reason ?? 'not allowed to decide this step'}`;
  }
}

function isStepStage(stage: string): boolean {
  return isStageIn(STEP_STAGES, stage);
}

/** How following a run ended. */
export type FollowEnd =
  | { kind: 'closed'; result: Promise<DeployModelResult> }
  /** Temporal stopped answering: what was last seen, and the error. */
  | { kind: 'lost'; lastSeen: DeploymentStatus | undefined; error: Error }
  /** The caller's signal asked to stop following; the run goes on. */
  | { kind: 'stopped'; lastSeen: DeploymentStatus | undefined };

export interface FollowRunOptions {
  handle: WorkflowHandle<typeof DeployModel>;
  /** `model@environment`, the prefix of every line. */
  where: string;
  say: (line: string) => void;
  /** Between polls; default 1s. */
  pollMs?: number;
  /** How long Temporal may fail to answer before the connection counts as lost; default 20s. */
  lostAfterMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls the run until it closes, saying what changes. A closed run's result is handed back as a
 * promise (it rejects as `handle.result()` does, e.g. WorkflowFailedError).
 */
export async function followRun(options: FollowRunOptions): Promise<FollowEnd> {
  const { handle, where, say, signal } = options;
  const pollMs = options.pollMs ?? 1_000;
  const lostAfterMs = options.lostAfterMs ?? 20_000;
  let lastSeen: DeploymentStatus | undefined;
  let failingSince: number | undefined;
  // Each call gets a deadline: otherwise the client retries a vanished server for a long time
  // inside one call, and the loss would be noticed only after that.
  const bounded = <T>(call: () => Promise<T>) =>
    handle.client.connection.withDeadline(Date.now() + Math.min(5_000, lostAfterMs), call);
  const tell = (status: DeploymentStatus) => {
    for (const line of progressLines(where, lastSeen, status)) say(line);
    lastSeen = status;
  };
  for (;;) {
    if (signal?.aborted) return { kind: 'stopped', lastSeen };
    let running: boolean;
    try {
      running = (await bounded(() => handle.describe())).status.name === 'RUNNING';
      failingSince = undefined;
      // Before its first workflow task a run cannot answer queries yet: nothing to tell then.
      const status = await bounded(() => handle.query(statusQuery)).catch(() => undefined);
      if (status) tell(status);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw error;
      failingSince ??= Date.now();
      if (Date.now() - failingSince >= lostAfterMs) return { kind: 'lost', lastSeen, error: error as Error };
      running = true;
    }
    if (!running) break;
    await pause(pollMs, signal);
  }
  return { kind: 'closed', result: handle.result() };
}

/** Says what is known of a run that could not be followed to its end (pure). */
export function lostConnectionLine(
  prefix: string,
  where: string,
  workflowId: string,
  end: Extract<FollowEnd, { kind: 'lost' }>,
): string {
  const seen = end.lastSeen;
  const known = seen
    ? `last seen at stage ${seen.stage}${seen.stage === 'promoted' ? ' (promoted; waiting to unload the previous version)' : ''}`
    : 'its stage was never seen';
  return `${prefix}: ${where}: lost the connection to Temporal while waiting for ${workflowId} (${end.error.message}); ${known}; the run itself is not affected: check it with \`npx modelship status\` once Temporal answers again`;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePause) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolvePause();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
