/**
 * `modelship dev` (what `npm start` runs): the whole stack on one machine. A Temporal dev server
 * with its Web UI and a database under MODELSHIP_HOME, the serving data plane (`modelship serve`
 * as a child process, with a fresh admin token), a worker, and a DeployModel run for each example
 * spec. Keeps running until Ctrl-C, then stops everything it started.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { openAuditStore } from '../../audit/open.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { runLoad } from '../../serving/loadgen/index.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient, connectWorker } from '../../worker/connection.ts';
import { startDataPlaneProcess } from '../../worker/data-plane-process.ts';
import { startDevServer } from '../../worker/dev-server.ts';
import { installRuntime } from '../../worker/runtime.ts';
import { PROJECT_ROOT } from '../../worker/temporal-cli.ts';
import { bundleWorkflows, createModelshipWorker } from '../../worker/worker.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { loadDeploymentInput } from '../start-deployment.ts';

const USAGE = `Usage: modelship dev [--port 7233] [--ui-port PORT+1000] [--serve-port 8000] [--specs DIR] [--once]

Starts a Temporal dev server (Web UI on --ui-port), the serving data plane (KServe V2 on
--serve-port), a worker, and deploys every *.yaml in --specs (default specs/examples).
State lives under $MODELSHIP_HOME (default .modelship/); logs under $MODELSHIP_HOME/logs.
--once   exit after the deployments finish instead of running until Ctrl-C`;

/** Requests per second of background traffic per served model. */
const TRICKLE_PER_SECOND = 10;

function waitForSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: string) => resolveSignal(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        port: { type: 'string', default: '7233' },
        'ui-port': { type: 'string' },
        specs: { type: 'string', default: join(PROJECT_ROOT, 'specs', 'examples') },
        'serve-port': { type: 'string', default: '8000' },
        once: { type: 'boolean' },
      },
      USAGE,
    );
    const port = Number(values.port);
    const uiPort = values['ui-port'] === undefined ? port + 1000 : Number(values['ui-port']);
    const servePort = Number(values['serve-port']);
    if (![port, uiPort, servePort].every(Number.isInteger)) {
      throw new CliError(`--port, --ui-port and --serve-port take numbers\n\n${USAGE}`);
    }
    const specsDir = String(values.specs);
    const specFiles = (await readdir(specsDir))
      .filter((name) => name.endsWith('.yaml'))
      .sort()
      .map((name) => join(specsDir, name));
    if (specFiles.length === 0) throw new CliError(`no *.yaml specs in ${specsDir}`);

    const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    // Everything started is stopped in reverse order, whatever fails on the way.
    const cleanup: { what: string; run: () => Promise<void> }[] = [];
    try {
      console.log(
        `dev: starting Temporal dev server on 127.0.0.1:${port} (database ${join(config.home, 'temporal.db')})`,
      );
      const server = await startDevServer({
        port,
        uiPort,
        dbFile: join(config.home, 'temporal.db'),
        logFile: join(config.home, 'logs', 'temporal.log'),
      });
      cleanup.push({ what: 'Temporal dev server', run: () => server.stop() });

      console.log(`dev: starting the data plane on 127.0.0.1:${servePort}`);
      const dataPlane = await startDataPlaneProcess({
        port: servePort,
        logFile: join(config.home, 'logs', 'serve.log'),
      });
      cleanup.push({ what: 'data plane', run: () => dataPlane.stop() });

      installRuntime(config.logLevel);
      const audit = await openAuditStore(config.home, config.auditUrl);
      cleanup.push({ what: 'audit store', run: () => audit.close() });
      const connection = await connectWorker(config);
      cleanup.push({ what: 'worker connection', run: () => connection.close() });

      console.log('dev: bundling workflows and starting the worker');
      const worker = await createModelshipWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.taskQueue,
        home: config.home,
        audit,
        dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
        workflowBundle: await bundleWorkflows(),
      });
      const workerRun = worker.run();
      cleanup.push({
        what: 'worker',
        run: async () => {
          // On Ctrl-C the SDK has already begun shutting the worker down by itself.
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await workerRun;
        },
      });
      console.log(`dev: Temporal Web UI at ${server.uiAddress}`);
      console.log(`dev: data plane (KServe V2) at ${dataPlane.url}/v2, metrics at ${dataPlane.url}/metrics`);

      const client = await connectClient(config);
      cleanup.push({ what: 'client connection', run: () => client.connection.close() });
      const results = [];
      const holdouts = new Map<string, string>();
      for (const file of specFiles) {
        const input = await loadDeploymentInput(file);
        holdouts.set(
          input.deployment.model,
          join(input.deployment.repoRoot, input.spec.spec.validation.holdout.path),
        );
        try {
          const handle = await startDeployment(client, config.taskQueue, input);
          console.log(`dev: started ${handle.workflowId} for ${input.deployment.specPath}`);
          results.push(handle.result());
        } catch (error) {
          // A run left over from an earlier session (the database persists) is still going:
          // follow it instead of failing, the worker we just started will pick it up.
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
          console.log(`dev: ${error.workflowId} is already running; following it`);
          results.push(client.workflow.getHandle<typeof DeployModel>(error.workflowId).result());
        }
      }
      const served: string[] = [];
      for (const result of await Promise.all(results)) {
        console.log(`dev: ${result.outcome}: ${result.summary}`);
        if (result.outcome === 'serving' || result.outcome === 'promoted') served.push(result.model);
      }
      // A steady trickle of holdout rows, so the data plane's metrics (and any rollout's analysis)
      // have live traffic to look at.
      const trickle = new AbortController();
      const loads = served.map((model) =>
        runLoad(
          {
            url: dataPlane.url,
            model,
            holdout: holdouts.get(model) ?? '',
            mode: { kind: 'rate', ratePerS: TRICKLE_PER_SECOND },
            durationMs: 7 * 24 * 3_600_000,
            preflight: false,
          },
          { signal: trickle.signal },
        ).catch((error: unknown) =>
          console.error(`dev: traffic to ${model} stopped: ${(error as Error).message}`),
        ),
      );
      cleanup.push({
        what: 'traffic',
        run: async () => {
          trickle.abort();
          await Promise.all(loads);
        },
      });
      if (served.length > 0)
        console.log(`dev: sending ${TRICKLE_PER_SECOND} req/s of holdout rows to ${served.join(', ')}`);
      const auditWhere = config.auditUrl ? 'MODELSHIP_AUDIT_URL' : join(config.home, 'audit.db');
      console.log(
        `dev: audit log at ${auditWhere} (\`npx modelship audit show\`, \`npx modelship audit verify\`)`,
      );

      if (!values.once) {
        console.log(
          `dev: try \`npx modelship load --url ${dataPlane.url} --model iris --holdout models/iris/holdout.csv\``,
        );
        console.log('dev: running; press Ctrl-C to stop');
        await waitForSignal();
        console.log('dev: stopping');
      }
    } finally {
      for (const step of cleanup.reverse()) {
        await step.run().catch((error: unknown) => {
          console.error(`dev: stopping the ${step.what} failed: ${(error as Error).message}`);
        });
      }
    }
    return 0;
  },
};
