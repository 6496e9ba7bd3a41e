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
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { openAuditStore } from '../../audit/open.ts';
import { isDeployedOutcome } from '../../gitops/apply-decision.ts';
import { followRun, lostConnectionLine } from '../../gitops/follow-run.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { runLoad } from '../../serving/loadgen/index.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient, connectWorker } from '../../worker/connection.ts';
import { startDataPlaneProcess } from '../../worker/data-plane-process.ts';
import { startDevServer } from '../../worker/dev-server.ts';
import { installRuntime } from '../../worker/runtime.ts';
import { PROJECT_ROOT } from '../../worker/temporal-cli.ts';
import { bundleWorkflows, createModelshipWorker } from '../../worker/worker.ts';
import type { DeployModel, DeployModelInput } from '../../workflows/deploy-model.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { loadDeploymentInput } from '../start-deployment.ts';
import { Stopped, type StopRequests, watchStopRequests } from '../stop-requests.ts';

const USAGE = `Usage: modelship dev [--port 7233] [--ui-port PORT+1000] [--serve-port 8000] [--specs DIR] [--rate 50] [--once]

Starts a Temporal dev server (Web UI on --ui-port), the serving data plane (KServe V2 on
--serve-port), a worker, and deploys every *.yaml in --specs (default specs/dev): specs of the
same model and environment one after another, in file-name order. Each model that serves gets
--rate requests/s of its holdout rows as background traffic.
State lives under $MODELSHIP_HOME (default .modelship/); logs under $MODELSHIP_HOME/logs.
--once   exit after the deployments finish (a rollout waiting for an approval waits for it)
Stops on SIGINT (Ctrl-C), SIGTERM or SIGHUP, and stops everything it started.`;

const log = (line: string) => console.log(line);

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
      rate: { type: 'string', default: '50' },
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
  const inputs = await Promise.all(specFiles.map((file) => loadDeploymentInput(file)));

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

    log(`dev: starting the data plane on 127.0.0.1:${servePort}`);
    const dataPlane = await startDataPlaneProcess({
      port: servePort,
      logFile: join(config.home, 'logs', 'serve.log'),
    });
    cleanup.push({ what: 'data plane', run: () => dataPlane.stop() });
    stop.signal.throwIfAborted();

    installRuntime(config.logLevel);
    const audit = await openAuditStore(config.home, config.auditUrl);
    cleanup.push({ what: 'audit store', run: () => audit.close() });
    const connection = await stop.untilStopped(connectWorker(config));
    cleanup.push({ what: 'worker connection', run: () => connection.close() });

    log('dev: bundling workflows and starting the worker');
    const worker = await createModelshipWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueue,
      home: config.home,
      audit,
      dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
      workflowBundle: await stop.untilStopped(bundleWorkflows()),
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

    const client = await stop.untilStopped(connectClient(config));
    cleanup.push({ what: 'client connection', run: () => client.connection.close() });

    const traffic = new Traffic(dataPlane.url, rate);
    cleanup.push({ what: 'traffic', run: () => traffic.stop() });
    const deployments = new DevDeployments({
      client,
      taskQueue: config.taskQueue,
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

/** Specs grouped by model and environment, each group in file-name order. */
function groupByDeployment(inputs: DeployModelInput[]): DeployModelInput[][] {
  const groups = new Map<string, DeployModelInput[]>();
  for (const input of inputs) {
    const key = `${input.deployment.model}@${input.deployment.environment}`;
    groups.set(key, [...(groups.get(key) ?? []), input]);
  }
  return [...groups.values()];
}

/** Background traffic: holdout rows at a steady rate, to every model that serves. */
class Traffic {
  private readonly controller = new AbortController();
  private readonly loads = new Map<string, Promise<unknown>>();

  constructor(
    private readonly url: string,
    private readonly ratePerS: number,
  ) {}

  /** Starts sending to `model` unless it already gets traffic. */
  send(model: string, holdout: string): void {
    if (this.loads.has(model) || this.controller.signal.aborted) return;
    log(`dev: sending ${this.ratePerS} req/s of holdout rows to ${model}`);
    const load = runLoad(
      {
        url: this.url,
        model,
        holdout,
        mode: { kind: 'rate', ratePerS: this.ratePerS },
        durationMs: 7 * 24 * 3_600_000,
        preflight: false,
      },
      { signal: this.controller.signal },
    ).catch((error: unknown) =>
      console.error(`dev: traffic to ${model} stopped: ${(error as Error).message}`),
    );
    this.loads.set(model, load);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.loads.values());
  }
}

/** Runs each group's specs one after another, following every run and starting traffic. */
class DevDeployments {
  constructor(
    private readonly context: {
      client: Client;
      taskQueue: string;
      workflowUrl: (workflowId: string, runId: string) => string;
      traffic: Traffic;
      signal: AbortSignal;
    },
  ) {}

  /** `firstDone`: every group's first spec has finished; `allDone`: every spec has. */
  run(groups: DeployModelInput[][]): { firstDone: Promise<void>; allDone: Promise<void> } {
    const firsts: Promise<void>[] = [];
    const alls: Promise<void>[] = [];
    for (const group of groups) {
      let markFirst = () => {};
      firsts.push(new Promise<void>((resolveFirst) => (markFirst = resolveFirst)));
      alls.push(this.runGroup(group, () => markFirst()).finally(() => markFirst()));
    }
    return { firstDone: Promise.all(firsts).then(() => {}), allDone: Promise.all(alls).then(() => {}) };
  }

  private async runGroup(group: DeployModelInput[], firstFinished: () => void): Promise<void> {
    for (const [index, input] of group.entries()) {
      if (this.context.signal.aborted) return;
      const deployed = await this.deploy(input);
      if (index === 0) firstFinished();
      const later = group.slice(index + 1);
      if (!deployed && later.length > 0) {
        const where = `${input.deployment.model}@${input.deployment.environment}`;
        log(
          `dev: ${where} is not deployed, so ${later.map((next) => next.deployment.specPath).join(', ')} not started`,
        );
        return;
      }
    }
  }

  /** Starts (or follows) one spec's run until it closes; whether its version is deployed. */
  private async deploy(input: DeployModelInput): Promise<boolean> {
    const { client, taskQueue, signal } = this.context;
    const { model, environment, specPath, repoRoot } = input.deployment;
    const where = `${model}@${environment}`;
    let handle: WorkflowHandle<typeof DeployModel>;
    try {
      handle = await startDeployment(client, taskQueue, input);
      log(`dev: started ${handle.workflowId} for ${specPath}`);
    } catch (error) {
      // A run left over from an earlier session (the database persists) is still going:
      // follow it instead of failing, the worker we just started will pick it up.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      log(`dev: ${error.workflowId} is already running; following it`);
      handle = client.workflow.getHandle<typeof DeployModel>(error.workflowId);
    }
    const runId = (await handle.describe()).runId;
    const say = (line: string) => {
      log(line);
      if (/waiting until .* for an approval/.test(line)) {
        log(`dev: ${where}:   open ${this.context.workflowUrl(handle.workflowId, runId)}`);
      }
    };
    const end = await followRun({ handle, where: `dev: ${where}`, say, signal });
    if (end.kind === 'stopped') return false;
    if (end.kind === 'lost') {
      console.error(lostConnectionLine('dev', where, handle.workflowId, end));
      return false;
    }
    const result = await end.result.catch((error: Error) => {
      console.error(`dev: ${handle.workflowId} failed: ${error.message}`);
      return undefined;
    });
    if (!result) return false;
    log(`dev: ${result.outcome}: ${result.summary}`);
    const deployed = isDeployedOutcome(result.outcome);
    if (deployed) this.context.traffic.send(model, join(repoRoot, input.spec.spec.validation.holdout.path));
    return deployed;
  }
}
