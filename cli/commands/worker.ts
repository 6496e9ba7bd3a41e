/** `modelship worker`: a long-running Temporal worker for modelship's workflows and activities. */
import { openAuditStore } from '../../audit/open.ts';
import { desiredStateDirFor, openDesiredStateStore } from '../../desired-state/open.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { startHealthServer } from '../../worker/health-server.ts';
import { MonitorMetrics } from '../../worker/monitor-metrics.ts';
import { connectWorker } from '../../worker/native-connection.ts';
import { installRuntime } from '../../worker/runtime.ts';
import { createModelshipWorker, loadWorkflowBundle } from '../../worker/worker.ts';
import { type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship worker

Polls the task queue $MODELSHIP_TASK_QUEUE (default "modelship") on $TEMPORAL_ADDRESS
(default localhost:7233). With $MODELSHIP_HEALTH_PORT set, GET /healthz on that port answers 200
while the worker polls (a container's liveness check). Artifacts, bundles and the audit log live under $MODELSHIP_HOME.
With MODELSHIP_DATA_PLANE_MODE=desired-state, rollouts write each environment's desired state
($MODELSHIP_DESIRED_STATE_URL, else files under $MODELSHIP_HOME) and wait for every
\`modelship serve --environment\` replica to serve it, instead of driving one data plane's admin API.
Stops cleanly on Ctrl-C (SIGINT) or SIGTERM, finishing in-flight activities first.`;

export const command: Command = {
  async run(argv) {
    parseCommandArgs(argv, {}, USAGE);
    const config = loadConfig();
    installRuntime(config.logLevel);
    const audit = await openAuditStore(config.home, config.auditUrl);
    const connection = await connectWorker(config);
    const desiredState =
      config.dataPlaneMode === 'desired-state'
        ? await openDesiredStateStore({
            url: config.desiredStateUrl,
            directory: desiredStateDirFor(config.home),
          })
        : undefined;
    try {
      const monitorMetrics = new MonitorMetrics();
      const worker = await createModelshipWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.taskQueue,
        home: config.home,
        audit,
        dataPlane: config.dataPlane,
        prometheus: config.prometheus,
        ...(config.evidenceKeyPath ? { evidenceKeyPath: config.evidenceKeyPath } : {}),
        git: config.git,
        registry: config.registry,
        ...(config.maxArtifactBytes ? { maxArtifactBytes: config.maxArtifactBytes } : {}),
        ...(desiredState ? { desiredState } : {}),
        client: () => connectClient(config),
        monitorMetrics,
        workflowBundle: await loadWorkflowBundle(config.workflowBundlePath),
      });
      console.log(
        `worker: polling "${config.taskQueue}" on ${config.temporal.address} (home ${config.home})`,
      );
      console.log(
        desiredState
          ? `worker: rollouts write desired state to ${desiredState.location} and wait for the replicas`
          : `worker: rollouts drive the data plane at ${config.dataPlane.url}`,
      );
      const health =
        config.healthPort === undefined
          ? undefined
          : await startHealthServer(worker, config.healthPort, undefined, monitorMetrics);
      if (health) console.log(`worker: liveness on GET http://0.0.0.0:${config.healthPort}/healthz`);
      // The SDK installs SIGINT/SIGTERM handlers that shut the worker down gracefully.
      try {
        await worker.run();
      } finally {
        health?.close();
      }
    } finally {
      await desiredState?.close();
      await connection.close();
      await audit.close();
    }
    return 0;
  },
};
