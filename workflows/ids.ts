/** Moved to `domain/deployment.ts`; re-exported until the last importer moves. */
export { deployModelWorkflowId, parseDeployModelWorkflowId } from '../domain/deployment.ts';
