/**
 * What the durability tests share: their own Temporal dev server, a real data plane in the test
 * process (with its admin log kept, to count routing changes), worker processes (given the run's
 * one workflow bundle, `sharedWorkflowBundlePath()`), a temporary git repo where iris v1 already
 * serves and v2 is proposed, steady traffic, and a teardown list that runs even when the test fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { createAdminClient, type RoutingState } from '../../serving/admin-client.ts';
import { runLoad } from '../../serving/loadgen/index.ts';
import { startServingServer } from '../../serving/server.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';
import {
  spawnWorkerProcess,
  type WorkerProcess,
  type WorkerProcessConfig,
} from '../support/worker-process.ts';

/** Cleanups in reverse order of registration; every one runs, the first error is rethrown. */
export class Teardown {
  private readonly steps: Array<{ what: string; run: () => Promise<unknown> | unknown }> = [];

  add(what: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, run });
  }

  async run(): Promise<void> {
    let first: unknown;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        console.warn(`teardown: ${step.what} failed: ${String(error)}`);
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** A temporary MODELSHIP_HOME, removed at teardown. */
export async function tempHome(teardown: Teardown, prefix: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  teardown.add(`remove ${home}`, () => rm(home, { recursive: true, force: true }));
  return home;
}

export interface LoggedDataPlane {
  url: string;
  adminToken: string;
  /** One line per routing change and load, as the server logs them. */
  log: string[];
  state(model: string): Promise<RoutingState>;
}

/** A real serving data plane in this process; closed at teardown. */
export async function startLoggedDataPlane(teardown: Teardown): Promise<LoggedDataPlane> {
  const adminToken = `durability-${process.pid}-${Date.now()}`;
  const log: string[] = [];
  const server = await startServingServer({
    adminToken,
    log: (line) => log.push(line),
    drainTimeoutMs: 1_000,
  });
  teardown.add('close the data plane', () => server.close());
  const admin = createAdminClient({ baseUrl: server.url, token: adminToken });
  return { url: server.url, adminToken, log, state: (model) => admin.state({ model }) };
}

/** A worker child process, stopped (SIGTERM, then SIGKILL by pid) at teardown. */
export function startWorker(teardown: Teardown, config: WorkerProcessConfig): WorkerProcess {
  const worker = spawnWorkerProcess(config);
  teardown.add(`stop worker process ${worker.pid}`, () => worker.stop(5_000));
  return worker;
}

/** A client on `address`; its connection is closed at teardown. */
export async function connectTestClient(teardown: Teardown, address: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  teardown.add('close the client connection', () => connection.close());
  return new Client({ connection });
}

/**
 * A repo where `model` serves iris v1 (deployed through DeployModel, outcome `serving`), then a
 * commit proposing v2 with `steps`; returns the v2 rollout's handle.
 */
export async function proposeIrisV2(
  teardown: Teardown,
  client: Client,
  taskQueue: string,
  model: string,
  steps: string[],
  analysis = '',
): Promise<{ handle: WorkflowHandle<typeof DeployModel>; repo: TempRepo }> {
  const repo = await createTempRepo('modelship-durability-');
  teardown.add(`remove ${repo.root}`, () => repo.remove());
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  const specFile = join(repo.root, `specs/${model}.yaml`);
  const spec = (version: string) =>
    exampleSpecYaml({
      name: model,
      dataset: 'iris',
      version,
      minAccuracy: 0.8,
      steps,
      postPromotionWindow: '1s',
      analysis,
    });
  await repo.write(`specs/${model}.yaml`, spec('v1'));
  await repo.commit('v1');
  const first = await startDeployment(client, taskQueue, await loadDeploymentInput(specFile));
  const firstResult = await first.result();
  if (firstResult.outcome !== 'serving') {
    throw new Error(`v1 did not start serving: ${firstResult.summary}`);
  }
  await repo.write(`specs/${model}.yaml`, spec('v2'));
  await repo.commit('v2');
  return { handle: await startDeployment(client, taskQueue, await loadDeploymentInput(specFile)), repo };
}

/** Steady open-loop traffic on `model`, stopped at teardown (or earlier by calling the result). */
export function steadyTraffic(teardown: Teardown, url: string, model: string, ratePerS = 200) {
  const controller = new AbortController();
  const done = runLoad(
    {
      url,
      model,
      holdout: repoPath('models/iris/holdout.csv'),
      mode: { kind: 'rate', ratePerS },
      durationMs: 300_000,
      preflight: false,
    },
    { signal: controller.signal },
  );
  const stop = async () => {
    controller.abort();
    return done;
  };
  teardown.add('stop the traffic', stop);
  return stop;
}

export const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** Polls `check` until it returns a value other than undefined; throws with `describe()` on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  describeFailure: () => Promise<string> | string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  const extra = await Promise.resolve(describeFailure()).catch(() => '');
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}${extra ? `\n${extra}` : ''}`,
  );
}

/** The rollout's stage as its `status` query reports it. */
export async function stageOf(handle: WorkflowHandle<typeof DeployModel>): Promise<string> {
  return (await handle.query(statusQuery)).stage;
}

/** A pending activity as DescribeWorkflowExecution reports it, decoded enough for the tests. */
export interface PendingActivity {
  activityType: string;
  attempt: number;
  lastHeartbeatMs: number | undefined;
  heartbeatDetails: unknown;
  state: string;
}

function toMs(
  timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined,
): number | undefined {
  if (!timestamp) return undefined;
  return Number(timestamp.seconds ?? 0) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6);
}

export async function pendingActivities(handle: WorkflowHandle): Promise<PendingActivity[]> {
  const { raw } = await handle.describe();
  return (raw.pendingActivities ?? []).map((activity) => {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    return {
      activityType: activity.activityType?.name ?? '',
      attempt: activity.attempt ?? 0,
      lastHeartbeatMs: toMs(activity.lastHeartbeatTime),
      heartbeatDetails: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      state: PendingActivityState[activity.state ?? 0] ?? String(activity.state),
    };
  });
}

const { EventType, PendingActivityState } = proto.temporal.api.enums.v1;

/** The workflow's history events, with their type names and times in ms. */
export async function historyOf(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((event) => ({
    event,
    id: Number(event.eventId ?? 0),
    type: EventType[event.eventType ?? 0] ?? String(event.eventType),
    timeMs: toMs(event.eventTime) ?? 0,
  }));
}

/** Decodes the first payload of a Payloads message (an activity's input or result). */
export function decodeFirst<T>(payloads: { payloads?: unknown[] | null } | null | undefined): T | undefined {
  const payload = payloads?.payloads?.[0];
  return payload ? (defaultPayloadConverter.fromPayload(payload as never) as T) : undefined;
}
