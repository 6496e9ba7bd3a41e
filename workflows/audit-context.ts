/** The deployment facts the audit trail attributes each record to, and where they travel. */

/** Header on every activity task carrying the {@link AuditContext}. */
export const AUDIT_CONTEXT_HEADER = 'modelship-audit-context';

/** Memo key the starter sets, from which the workflow interceptor reads the context. */
export const MEMO_DEPLOYMENT_KEY = 'deployment';

export interface AuditContext {
  model: string;
  environment: string;
  commit: string;
}
