/**
 * Reconcile: one pass over one environment, comparing Git, Temporal and the data plane
 * (`gitops/reconcile.ts` through the `reconcileEnvironment` activity). Started by
 * `modelship reconcile` and by its Temporal Schedule under the workflow id `reconcile/<env>`,
 * and by `status` and `apply` (observe only, ids `reconcile-check/<env>/…`) to learn whether what
 * Temporal calls deployed is served.
 *
 * A pass that repairs is audited: the drift it found, what it repaired, what it applied. The Web
 * UI shows the findings in the run's current details.
 */
import { setCurrentDetails } from '@temporalio/workflow';
import type { ReconcileReport, ReconcileRequest } from '../domain/reconcile.ts';
import { reconcileEnvironment, recordDecision } from './activity-proxies.ts';
import { reconcileAuditDetails, renderReconcileDetails } from './reconcile-details.ts';

export type ReconcileInput = ReconcileRequest;

export async function Reconcile(input: ReconcileInput): Promise<ReconcileReport> {
  setCurrentDetails(`**Reconciling ${input.environment}**: reading Git, Temporal and the replicas…`);
  const report = await reconcileEnvironment(input);
  if (input.repair) {
    await recordDecision({
      deployment: {
        model: '*',
        environment: input.environment,
        commit: report.commit ?? 'none',
        specPath: input.specsDir ?? 'specs',
        repository: input.repository ?? '',
      },
      decision: report.findings.length > 0 ? 'reconcile.drift' : 'reconcile.clean',
      details: reconcileAuditDetails(report),
    });
  }
  setCurrentDetails(renderReconcileDetails(report));
  return report;
}
