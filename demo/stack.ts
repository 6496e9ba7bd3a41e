/**
 * The whole modelship stack, fresh and private to one demo run, as `modelship dev` wires it: a
 * Temporal dev server and the serving data plane as child processes on free ports, a worker in
 * this process, and a MODELSHIP_HOME under the OS temp dir. Nothing of the user's environment
 * (TEMPORAL_ADDRESS, an API key, MODELSHIP_AUDIT_URL) leaks in: the demo touches only what it made.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { openAuditStore } from '../audit/open.ts';
import { loadConfig, type ModelshipConfig } from '../worker/config.ts';
import { connectClient } from '../worker/connection.ts';
import { startDataPlaneProcess } from '../worker/data-plane-process.ts';
import { freePort, startDevServer } from '../worker/dev-server.ts';
import { connectWorker } from '../worker/native-connection.ts';
import { installRuntime } from '../worker/runtime.ts';
import { createModelshipWorker, loadWorkflowBundle } from '../worker/worker.ts';
import { type Cleanup, once } from './cleanup.ts';
import { say } from './say.ts';

export interface Stack {
  config: ModelshipConfig;
  client: Client;
  dataPlane: { url: string; adminToken: string };
  /** Shuts the worker down and closes the audit log, so another process can verify it. */
  stopWorker(): Promise<void>;
}

export interface StackOptions {
  /** Serve the Temporal Web UI too (on a free port); headless otherwise. */
  ui: boolean;
  /** Keep MODELSHIP_HOME (audit log, bundles, logs, Temporal database) after the run. */
  keep: boolean;
}

/** Starts everything, registering each piece with `cleanup` as soon as it runs. */
export async function startStack(options: StackOptions, cleanup: Cleanup): Promise<Stack> {
  const home = await mkdtemp(join(tmpdir(), 'modelship-demo-home-'));
  if (!options.keep) cleanup.add('MODELSHIP_HOME', () => rm(home, { recursive: true, force: true }));
  const uiPort = options.ui ? await freePort() : undefined;
  say(`MODELSHIP_HOME is ${home} (audit log, artifacts, bundles, logs)`);
  say(
    'starting a Temporal dev server and the data plane (each on a free port it takes itself), ' +
      'and bundling the workflow code, side by side',
  );

  // Started together: each takes seconds. Every one that came up is registered before a failure
  // of another is thrown, so nothing is left behind.
  const [server, dataPlane, bundle] = await Promise.allSettled([
    // No port given: the dev server chooses a free one, and tries another if it is taken meanwhile.
    startDevServer({
      ...(uiPort === undefined ? {} : { uiPort }),
      dbFile: join(home, 'temporal.db'),
      logFile: join(home, 'logs', 'temporal.log'),
    }),
    startDataPlaneProcess({ port: 0, logFile: join(home, 'logs', 'serve.log'), home }),
    loadWorkflowBundle(process.env.MODELSHIP_WORKFLOW_BUNDLE?.trim() || undefined),
  ]);
  if (server.status === 'fulfilled') cleanup.add('Temporal dev server', () => server.value.stop());
  if (dataPlane.status === 'fulfilled') cleanup.add('data plane', () => dataPlane.value.stop());
  const temporal = settledValue(server);
  const serving = settledValue(dataPlane);
  const workflowBundle = settledValue(bundle);
  const config = loadConfig({
    MODELSHIP_HOME: home,
    TEMPORAL_ADDRESS: temporal.address,
    MODELSHIP_TASK_QUEUE: 'modelship-demo',
    MODELSHIP_LOG_LEVEL: process.env.MODELSHIP_LOG_LEVEL,
  });
  say(`Temporal dev server on ${temporal.address}`);
  if (temporal.uiAddress) say(`Temporal Web UI at ${temporal.uiAddress} (filter: ModelName = "iris")`);
  say(
    `data plane on ${new URL(serving.url).host}: KServe V2 at ${serving.url}/v2, metrics at ${serving.url}/metrics`,
  );

  installRuntime(config.logLevel);
  const audit = await openAuditStore(config.home);
  const closeAudit = once(() => audit.close());
  cleanup.add('audit log', closeAudit);
  const connection = await connectWorker(config);
  cleanup.add('worker connection', () => connection.close());
  const worker = await createModelshipWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    home: config.home,
    audit,
    dataPlane: { url: serving.url, adminToken: serving.adminToken },
    workflowBundle,
  });
  const workerRun = worker.run();
  const stopWorker = once(async () => {
    // On Ctrl-C the SDK has already begun shutting the worker down by itself.
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
  });
  cleanup.add('worker', stopWorker);
  const client = await connectClient(config);
  cleanup.add('client connection', () => client.connection.close());
  say(`worker running in this process on task queue ${config.taskQueue}`);

  return {
    config,
    client,
    dataPlane: { url: serving.url, adminToken: serving.adminToken },
    async stopWorker() {
      await stopWorker();
      await closeAudit();
    },
  };
}

/** The value of a settled start, or its error. */
function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
