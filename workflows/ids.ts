/** Workflow ids, shared by the client side (CLI) and tests; pure. */
import type { DeploymentRef } from '../activities/deployment.ts';

/**
 * One DeployModel per model and environment at a time: starting another for the same pair while
 * one runs is refused by Temporal, which is what keeps two rollouts of one model apart.
 */
export function deployModelWorkflowId(deployment: Pick<DeploymentRef, 'model' | 'environment'>): string {
  return `deploy/${deployment.environment}/${deployment.model}`;
}
