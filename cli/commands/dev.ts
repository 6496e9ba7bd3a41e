/**
 * `modelship dev` (what `npm start` runs): the whole stack on one machine. A Temporal dev server
 * with its Web UI and a database under MODELSHIP_HOME, the serving data plane (`modelship serve`
 * as a child process, with a fresh admin token), a worker, and the specs of `specs/dev/`: iris v1
 * serves at once, background traffic starts, then iris v2 rolls out over it in seconds and waits
 * for the newcomer's approval in the Web UI. Specs of one model and environment run in file-name
 * order, each after the previous one has finished. Runs until SIGINT, SIGTERM or SIGHUP (or until
 * its parent goes away, see `stop-requests.ts`), then stops everything it started.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openAuditStore } from '../../audit/open.ts';
import { desiredStateDirFor, openDesiredStateStore } from '../../desired-state/open.ts';
import {
  reconcileWorkflowId,
  runReconcile,
  scheduleReconcile,
  unscheduleReconcile,
} from '../../gitops/start-reconcile.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { startDataPlaneProcess } from '../../worker/data-plane-process.ts';
import { startDevServer } from '../../worker/dev-server.ts';
import { connectWorker } from '../../worker/native-connection.ts';
import { installRuntime } from '../../worker/runtime.ts';
import { PROJECT_ROOT } from '../../worker/temporal-cli.ts';
import { createModelshipWorker, loadWorkflowBundle } from '../../worker/worker.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { DevDeployments, groupByDeployment, loadDevSpec, Traffic } from '../dev-deployments.ts';
import { DevRepository } from '../dev-repository.ts';
import { Stopped, type StopRequests, watchStopRequests } from '../stop-requests.ts';
import { renderReport } from './reconcile.ts';

const USAGE = `Usage: modelship dev [--port 7233] [--ui-port PORT+1000] [--serve-port 8000] [--specs DIR] [--rate 100] [--once]

Starts a Temporal dev server (Web UI on --ui-port), the serving data plane (KServe V2 on
--serve-port), a worker, and deploys every *.yaml in --specs (default specs/dev): specs of the
same model and environment one after another, in file-name order. Each model that serves gets
--rate requests/s of its holdout rows as background traffic.
State lives under $MODELSHIP_HOME (default .modelship/); logs under $MODELSHIP_HOME/logs.
--once   exit after the deployments finish (a rollout waiting for an approval waits for it)
Stops on SIGINT (Ctrl-C), SIGTERM or SIGHUP, and stops everything it started.`;

const log = (line: string) => console.log(line);

/** How often dev's reconcile schedule runs a pass. */
const RECONCILE_EVERY_MS = 30_000;

export const command: Command = {
  async run(argv) {
    // First of all, so that a stop requested during start-up still stops what was started.
    const stop = watchStopRequests();
    try {
      return await runDev(argv, stop);
    } finally {
      stop.dispose();
    }
  },
};

async function runDev(argv: string[], stop: StopRequests): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      port: { type: 'string', default: '7233' },
      'ui-port': { type: 'string' },
      specs: { type: 'string', default: join(PROJECT_ROOT, 'specs', 'dev') },
      'serve-port': { type: 'string', default: '8000' },
      rate: { type: 'string', default: '100' },
      once: { type: 'boolean' },
    },
    USAGE,
  );
  const port = Number(values.port);
  const uiPort = values['ui-port'] === undefined ? port + 1000 : Number(values['ui-port']);
  const servePort = Number(values['serve-port']);
  const rate = Number(values.rate);
  if (![port, uiPort, servePort].every(Number.isInteger) || !(rate > 0)) {
    throw new CliError(`--port, --ui-port, --serve-port and --rate take numbers\n\n${USAGE}`);
  }
  const specsDir = String(values.specs);
  const specFiles = (await readdir(specsDir))
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => join(specsDir, name));
  if (specFiles.length === 0) throw new CliError(`no *.yaml specs in ${specsDir}`);
  const inputs = await Promise.all(specFiles.map((file) => loadDevSpec(file)));

  const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  // Everything started is stopped in reverse order, whatever fails on the way. Steps that start
  // a child process are awaited to the end even when a stop comes meanwhile, so the child is
  // known and stopped; long waits give way to a stop at once.
  const cleanup: { what: string; run: () => Promise<void> }[] = [];
  try {
    log(
      `dev: starting Temporal dev server on 127.0.0.1:${port} (database ${join(config.home, 'temporal.db')})`,
    );
    const server = await startDevServer({
      port,
      uiPort,
      dbFile: join(config.home, 'temporal.db'),
      logFile: join(config.home, 'logs', 'temporal.log'),
    });
    cleanup.push({ what: 'Temporal dev server', run: () => server.stop() });
    stop.signal.throwIfAborted();

    // One environment (the shipped dev specs): the data plane follows its durable desired state,
    // so a restarted data plane serves again by itself. Several: one admin-driven data plane.
    const environments = [...new Set(inputs.map((input) => input.environment))];
    const followed = environments.length === 1 ? environments[0] : undefined;
    const follow =
      followed === undefined
        ? undefined
        : {
            environment: followed,
            ...(config.evidenceKeyPath ? { evidenceKeyPath: config.evidenceKeyPath } : {}),
          };
    if (follow) {
      log(
        `dev: starting the data plane on 127.0.0.1:${servePort}, following the desired state of ${followed}`,
      );
    } else {
      log(
        `dev: starting the data plane on 127.0.0.1:${servePort} (specs for ${environments.join(', ')}: driven through its admin API)`,
      );
    }
    const dataPlane = await startDataPlaneProcess({
      port: servePort,
      logFile: join(config.home, 'logs', 'serve.log'),
      home: config.home,
      ...(follow ? { follow } : {}),
    });
    cleanup.push({ what: 'data plane', run: () => dataPlane.stop() });
    const desiredState = follow
      ? await openDesiredStateStore({
          url: config.desiredStateUrl,
          directory: desiredStateDirFor(config.home),
        })
      : undefined;
    if (desiredState) cleanup.push({ what: 'desired state', run: () => desiredState.close() });
    stop.signal.throwIfAborted();

    installRuntime(config.logLevel);
    const audit = await openAuditStore(config.home, config.auditUrl);
    cleanup.push({ what: 'audit store', run: () => audit.close() });
    const connection = await stop.untilStopped(connectWorker(config));
    cleanup.push({ what: 'worker connection', run: () => connection.close() });

    const client = await stop.untilStopped(connectClient(config));
    cleanup.push({ what: 'client connection', run: () => client.connection.close() });

    log('dev: bundling workflows and starting the worker');
    const worker = await createModelshipWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueue,
      home: config.home,
      audit,
      dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
      workflowBundle: await stop.untilStopped(loadWorkflowBundle(config.workflowBundlePath)),
      git: config.git,
      registry: config.registry,
      ...(config.maxArtifactBytes ? { maxArtifactBytes: config.maxArtifactBytes } : {}),
      ...(desiredState ? { desiredState } : {}),
      client: async () => client,
    });
    const workerRun = worker.run();
    cleanup.push({
      what: 'worker',
      run: async () => {
        // On SIGINT and SIGTERM the SDK has already begun shutting the worker down by itself.
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await workerRun;
      },
    });
    log(`dev: Temporal Web UI at ${server.uiAddress}`);
    log(`dev: data plane (KServe V2) at ${dataPlane.url}/v2, metrics at ${dataPlane.url}/metrics`);
    log(
      `dev: labels go back to POST ${dataPlane.url}/v2/models/<model>/feedback with the token in ${dataPlane.feedbackTokenFile} (docs/monitoring.md)`,
    );

    // Deployments go through Git, apply and reconcile, as a platform team's would: specs are
    // committed to the dev repository, applied, and reconciled on a schedule.
    const repository = await DevRepository.open(config.home);
    log(
      `dev: deploying from the Git repository ${repository.dir} (specs committed there by dev, then applied)`,
    );
    for (const environment of environments) {
      const request = { environment, repository: repository.dir, specsDir: 'specs', repair: true };
      if (repository.existed) {
        // Started again: first put the data plane back to what Temporal recorded, if it drifted.
        const report = await stop.untilStopped(runReconcile(client, config.taskQueue, request));
        for (const line of renderReport(report)) log(`dev: ${line}`);
      }
      await scheduleReconcile(client, config.taskQueue, request, RECONCILE_EVERY_MS);
      cleanup.push({
        what: `reconcile schedule of ${environment}`,
        run: async () => void (await unscheduleReconcile(client, environment)),
      });
      log(
        `dev: reconciling ${environment} every ${RECONCILE_EVERY_MS / 1000} s (Temporal Schedule ${reconcileWorkflowId(environment)})`,
      );
    }

    const traffic = new Traffic(dataPlane.url, rate);
    cleanup.push({ what: 'traffic', run: () => traffic.stop() });
    const deployments = new DevDeployments({
      client,
      taskQueue: config.taskQueue,
      repository,
      workflowUrl: (workflowId, runId) =>
        `${server.uiAddress}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`,
      traffic,
      signal: stop.signal,
    });
    const { firstDone, allDone } = deployments.run(groupByDeployment(inputs));
    await stop.untilStopped(firstDone);

    const auditWhere = config.auditUrl ? 'MODELSHIP_AUDIT_URL' : join(config.home, 'audit.db');
    log(`dev: audit log at ${auditWhere} (\`npx modelship audit show\`, \`npx modelship audit verify\`)`);
    if (values.once) {
      await stop.untilStopped(allDone);
    } else {
      log(
        `dev: try \`npx modelship load --url ${dataPlane.url} --model iris --holdout models/iris/holdout.csv\``,
      );
      log('dev: running; press Ctrl-C to stop');
      log(`dev: stopping (${await stop.requested()})`);
    }
  } catch (error) {
    if (!(error instanceof Stopped) && !stop.signal.aborted) throw error;
    log(`dev: stopping (${String(stop.signal.reason)})`);
  } finally {
    for (const step of cleanup.reverse()) {
      await step.run().catch((error: unknown) => {
        console.error(`dev: stopping the ${step.what} failed: ${(error as Error).message}`);
      });
    }
  }
  return 0;
}
