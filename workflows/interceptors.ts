/**
 * Workflow-side interceptor (bundled with the workflows): stamps every activity call with the
 * deployment it belongs to, in a header, so the worker's audit interceptor can attribute each
 * attempt to a model, environment and commit without any activity having to pass them along.
 */
import {
  type ActivityInput,
  defaultPayloadConverter,
  type Next,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
  workflowInfo,
} from '@temporalio/workflow';
import { AUDIT_CONTEXT_HEADER, type AuditContext, MEMO_DEPLOYMENT_KEY } from '../domain/deployment.ts';

function currentAuditContext(): AuditContext {
  const memo = workflowInfo().memo?.[MEMO_DEPLOYMENT_KEY] as Partial<AuditContext> | undefined;
  return {
    model: typeof memo?.model === 'string' ? memo.model : 'unknown',
    environment: typeof memo?.environment === 'string' ? memo.environment : 'unknown',
    commit: typeof memo?.commit === 'string' ? memo.commit : 'unknown',
  };
}

class AuditContextOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    return next({
      ...input,
      headers: {
        ...input.headers,
        [AUDIT_CONTEXT_HEADER]: defaultPayloadConverter.toPayload(currentAuditContext()),
      },
    });
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new AuditContextOutbound()] });
