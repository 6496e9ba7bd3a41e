/**
 * Recording workflow decisions (stage entered, deployment packaged or rejected, later approvals
 * and rollbacks) in the audit log. Activity attempts are recorded by the worker's interceptor;
 * decisions are the workflow's own words, so the workflow records them explicitly through here.
 */
import { Context } from '@temporalio/activity';
import type { AuditStore } from '../audit/store.ts';
import type { DeploymentRef } from '../domain/deployment.ts';

interface RecordDecisionInput {
  deployment: DeploymentRef;
  /** Dotted name, e.g. `stage.entered`, `deployment.rejected`. */
  decision: string;
  /** Who decided: `workflow` unless a person did (an approver). */
  actor?: string;
  /** Small JSON facts behind the decision (metric values, reasons). */
  details?: Record<string, unknown>;
}

export function createAuditActivities(deps: {
  audit: AuditStore;
  /** Told of every decision once it is recorded (the worker's monitor metrics). */
  observe?: (input: RecordDecisionInput) => void;
}) {
  return {
    /**
     * Appends one `workflow.decision` record. Idempotent per activity execution: a retry after
     * the append landed (say the worker died before reporting completion) finds its own record
     * by run id and activity id and does not append a second one.
     */
    async recordDecision(input: RecordDecisionInput): Promise<{ seq: number }> {
      const info = Context.current().info;
      const { workflowId, runId } = info.workflowExecution ?? { workflowId: 'none', runId: 'none' };
      const existing = (await deps.audit.list({ workflowId })).find(
        (record) =>
          record.runId === runId &&
          record.activityId === info.activityId &&
          record.kind === 'workflow.decision',
      );
      if (existing) return { seq: existing.seq };
      const record = await deps.audit.append({
        time: new Date().toISOString(),
        kind: 'workflow.decision',
        model: input.deployment.model,
        environment: input.deployment.environment,
        commit: input.deployment.commit,
        workflowId,
        runId,
        step: input.decision,
        activityId: info.activityId,
        attempt: info.attempt,
        actor: input.actor ?? 'workflow',
        ...(input.details ? { details: input.details } : {}),
      });
      // After the append, and not on the idempotent path above: a decision counts once.
      deps.observe?.(input);
      return { seq: record.seq };
    },
  };
}
