/**
 * RetireModel: a spec was removed from Git and no spec at head declares its model and
 * environment any more, so its deployment leaves the data plane: traffic stops at once, every
 * version drains (in-flight requests finish) and is unloaded.
 *
 * It runs under the same workflow id as DeployModel (`deploy/<env>/<model>`), so a retirement
 * and a rollout of one deployment never run side by side, and the latest run of the id says
 * where the deployment stands. `apply` cancels a running rollout first (it rolls back), then
 * starts this. Retiring is idempotent on the data plane, so a retried or repeated run is safe.
 */
import { getExternalWorkflowHandle, patched, upsertSearchAttributes } from '@temporalio/workflow';
import { type DeploymentRef, monitorWorkflowId } from '../domain/deployment.ts';
import { dataPlane, recordDecision } from './activity-proxies.ts';
import { RolloutStageKey } from './search-attributes.ts';

/** The `RolloutStage` search attribute while retiring and once retired. */
export const RETIRING_STAGE = 'retiring';
const RETIRED_STAGE = 'retired';

interface RetireModelInput {
  /** The removed spec's deployment: its model and environment, the commit that removed it. */
  deployment: DeploymentRef;
}

export interface RetireModelResult {
  outcome: 'retired';
  model: string;
  environment: string;
  commit: string;
  /** One line for people: what happened. */
  summary: string;
  /** Versions this run took out of service (empty when the data plane no longer had the model). */
  draining: string[];
}

export async function RetireModel(input: RetireModelInput): Promise<RetireModelResult> {
  const { deployment } = input;
  const where = `${deployment.model}@${deployment.environment}`;
  await recordDecision({
    deployment,
    decision: 'retire.started',
    details: { specPath: deployment.specPath },
  });
  const reply = await dataPlane.retireFromDataPlane({ deployment });
  // Added after retirements had run: the model's monitor stops with it (none may be running).
  if (patched('stop-monitor-on-retire')) {
    await getExternalWorkflowHandle(monitorWorkflowId(deployment))
      .cancel()
      .catch(() => undefined);
  }
  const summary = reply.retired
    ? `${where} retired at commit ${deployment.commit.slice(0, 12)} (${deployment.specPath} removed): traffic stopped, versions unloaded after draining: ${reply.draining.join(', ') || 'none'}`
    : `${where} retired at commit ${deployment.commit.slice(0, 12)} (${deployment.specPath} removed): the data plane no longer had it`;
  upsertSearchAttributes([{ key: RolloutStageKey, value: RETIRED_STAGE }]);
  await recordDecision({
    deployment,
    decision: 'deployment.retired',
    details: { draining: reply.draining, dataPlane: reply.message, summary },
  });
  return {
    outcome: 'retired',
    model: deployment.model,
    environment: deployment.environment,
    commit: deployment.commit,
    summary,
    draining: reply.draining,
  };
}
