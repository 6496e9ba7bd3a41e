/**
 * Starting the monitor of a version that now serves all traffic, from DeployModel: a child
 * workflow that outlives its parent (parent close policy ABANDON), under the one id of the
 * deployment's monitor, `monitor/<environment>/<model>`. A monitor already running there watches
 * the version before; it is cancelled first (it records why it ended), then the new one starts.
 * Cancellation is asynchronous, so the start is retried for a short while until the id is free.
 */

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  CancellationScope,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { accuracyFloor } from '../analysis/monitor-look.ts';
import { type DeploymentRef, monitorWorkflowId } from '../domain/deployment.ts';
import { defaultMonitoring } from '../specs/monitoring-defaults.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { recordDecision } from './activity-proxies.ts';
import { MonitorModel, type MonitorModelInput } from './monitor-model.ts';

/** How long to wait for a replaced monitor to end before giving up on starting the new one. */
const START_ATTEMPTS = 30;

export async function startMonitor(input: {
  deployment: DeploymentRef;
  spec: ModelDeployment;
  version: string;
  bundle: { digest: string; path: string };
  /** The version this one replaced, to roll back to (absent for a model's first version). */
  previous?: { version: string; bundleDigest?: string };
}): Promise<void> {
  const { deployment, spec } = input;
  // Specs of runs started before spec.monitoring existed carry none: the defaults apply.
  const monitoring =
    (spec.spec.monitoring as ModelDeployment['spec']['monitoring'] | undefined) ?? defaultMonitoring();
  if (!monitoring.enabled) return;
  const workflowId = monitorWorkflowId(deployment);
  const floor = accuracyFloor(monitoring, spec.spec.validation.metrics.accuracy?.min);
  const args: MonitorModelInput = {
    deployment,
    version: input.version,
    bundleDigest: input.bundle.digest,
    artifactSha256: spec.spec.model.sha256,
    monitoring,
    ...(floor === undefined ? {} : { accuracyFloor: floor }),
    ...(input.previous ? { previous: input.previous } : {}),
  };
  await CancellationScope.nonCancellable(async () => {
    // Nothing may be running under the id (the first version, or the monitor ended): that is fine.
    await getExternalWorkflowHandle(workflowId)
      .cancel()
      .catch(() => undefined);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const child = await startChild(MonitorModel, {
          workflowId,
          args: [args],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          memo: workflowInfo().memo ?? {},
          typedSearchAttributes: workflowInfo().typedSearchAttributes,
        });
        await recordDecision({
          deployment,
          decision: 'monitor.requested',
          details: { version: input.version, workflowId, runId: child.firstExecutionRunId },
        });
        return;
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError) || attempt >= START_ATTEMPTS) {
          // Monitoring is not worth failing a promotion over: record why there is none.
          await recordDecision({
            deployment,
            decision: 'monitor.not-started',
            details: { version: input.version, workflowId, error: (error as Error).message },
          });
          return;
        }
        await sleep(1_000);
      }
    }
  });
}
