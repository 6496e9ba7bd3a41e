/**
 * The audit trail's hook into every activity: each attempt is recorded as started, then
 * completed or failed (with the error), attributed to the deployment named in the header the
 * workflow interceptor adds. Because it wraps every activity, no step can forget to be audited.
 *
 * If the audit store cannot be written, the attempt fails and Temporal retries it: an
 * unrecorded step must not count as done. Activities are idempotent, so the retry is safe.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';
import { digestOf } from '../audit/record.ts';
import type { AuditStore } from '../audit/store.ts';
import { AUDIT_CONTEXT_HEADER, type AuditContext } from '../domain/deployment.ts';

/** Activities that write the audit log themselves; wrapping them would only add noise. */
const SELF_AUDITED = new Set(['recordDecision']);

function auditContextFrom(input: ActivityExecuteInput): AuditContext {
  const payload = input.headers[AUDIT_CONTEXT_HEADER];
  const decoded = payload ? (defaultPayloadConverter.fromPayload(payload) as Partial<AuditContext>) : {};
  return {
    model: decoded.model ?? 'unknown',
    environment: decoded.environment ?? 'unknown',
    commit: decoded.commit ?? 'unknown',
  };
}

function describeError(error: unknown): { type?: string; message: string } {
  if (error instanceof ApplicationFailure) {
    return { ...(error.type ? { type: error.type } : {}), message: error.message };
  }
  if (error instanceof Error) return { type: error.name, message: error.message };
  return { message: String(error) };
}

class AuditActivityInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly store: AuditStore,
    private readonly actor: string,
  ) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    const info = this.ctx.info;
    if (SELF_AUDITED.has(info.activityType)) return next(input);
    // Activities started outside a workflow (standalone) have no execution; ours never are.
    const execution = info.workflowExecution ?? { workflowId: 'none', runId: 'none' };
    const base = {
      ...auditContextFrom(input),
      workflowId: execution.workflowId,
      runId: execution.runId,
      step: info.activityType,
      activityId: info.activityId,
      attempt: info.attempt,
      actor: this.actor,
    };
    await this.store.append({
      ...base,
      time: new Date().toISOString(),
      kind: 'activity.started',
      inputDigest: digestOf(input.args),
    });
    let result: unknown;
    try {
      result = await next(input);
    } catch (error) {
      await this.store.append({
        ...base,
        time: new Date().toISOString(),
        kind: 'activity.failed',
        error: describeError(error),
        // The failure's report (a scan can list many findings) is kept as a digest: the message
        // already says why, and the audit's size limit must never turn a domain failure into an
        // append error that Temporal would retry.
        ...(error instanceof ApplicationFailure
          ? {
              details: {
                nonRetryable: error.nonRetryable,
                reportDigest: digestOf(error.details?.[0] ?? null),
              },
            }
          : {}),
      });
      throw error;
    }
    await this.store.append({
      ...base,
      time: new Date().toISOString(),
      kind: 'activity.completed',
      outputDigest: digestOf(result),
    });
    return result;
  }
}

/** The activity interceptor factory for `Worker.create({ interceptors: { activity: [...] } })`. */
export function auditActivityInterceptor(store: AuditStore, actor: string): ActivityInterceptorsFactory {
  return (ctx) => ({ inbound: new AuditActivityInbound(ctx, store, `worker:${actor}`) });
}
