/** Moved to `domain/deployment.ts`; re-exported until the last importer moves. */
export { AUDIT_CONTEXT_HEADER, type AuditContext, MEMO_DEPLOYMENT_KEY } from '../domain/deployment.ts';
