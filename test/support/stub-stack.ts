/**
 * The fast workflow tier's stack: the real workflow bundle on the shared dev server, served by a
 * worker whose activities are STUBS (`stub-activities.ts`), on a task queue of the test file's
 * own. No data plane, no audit store, no models: a run takes as long as its timers.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { CommitAuthor, DeploymentRef } from '../../domain/deployment.ts';
import { deployModelWorkflowId } from '../../domain/deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { parseSpec } from '../../specs/parse.ts';
import type { DeployModel, DeployModelInput } from '../../workflows/deploy-model.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { type ExampleSpecOptions, exampleSpecYaml } from './model-catalog.ts';
import { StubActivities, type StubRun, type StubScript } from './stub-activities.ts';
import { installTestRuntime } from './temporal-runtime.ts';
import { sharedWorkflowBundle } from './workflow-bundle.ts';

/** Who made the commits of stub deployments (the four-eyes rule compares approvers with it). */
export const STUB_AUTHOR: CommitAuthor = { name: 'Test Author', email: 'author@example.com' };

export interface StubStack {
  client: Client;
  taskQueue: string;
  stubs: StubActivities;
  /** Stops the worker and closes the connections. */
  stop(): Promise<void>;
}

/** Starts a stub worker on the run's workflow bundle; `name` makes the task queue recognisable. */
export async function startStubStack(name: string): Promise<StubStack> {
  // ERROR, not WARN: the stubs fail activities on purpose, and each failure would log a stack.
  installTestRuntime('ERROR');
  const address = inject('temporalAddress');
  const taskQueue = `${name}-${process.pid}-${Date.now()}`;
  const workflowBundle = await sharedWorkflowBundle();
  const stubs = new StubActivities();
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle,
    activities: stubs.activities,
    // A stub held inside a step is cancelled at shutdown instead of holding the file's teardown.
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  return {
    client,
    taskQueue,
    stubs,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}

export interface StubDeployment {
  /** `metadata.name`; unique per test, since the workflow id is `deploy/<environment>/<model>`. */
  model: string;
  environment?: string;
  /** Rollout steps as YAML list items; durations short (`1s`), they are real timers. */
  steps?: string[];
  postPromotionWindow?: string;
  /** Extra YAML under `spec:`, e.g. `  analysis:\n    maxExtensions: 1\n`. */
  analysis?: string;
  /**
   * `spec.monitoring` as YAML under `spec:`; by default monitoring is off, so the rollout tests see
   * no monitor start (the monitor has its own tests).
   */
  monitoring?: string;
  script?: StubScript;
}

/** The DeployModel input `modelship deploy` would start for a spec built from `options`. */
export function deployInput(options: Omit<StubDeployment, 'script'>): DeployModelInput {
  const specOptions: ExampleSpecOptions = {
    name: options.model,
    dataset: 'iris',
    version: 'v2',
    environment: options.environment ?? 'staging',
    postPromotionWindow: options.postPromotionWindow ?? '1s',
    ...(options.steps ? { steps: options.steps } : {}),
    analysis: [
      options.analysis?.trimEnd(),
      options.monitoring?.trimEnd() ?? '  monitoring:\n    enabled: false',
    ]
      .filter(Boolean)
      .join('\n'),
  };
  const specText = exampleSpecYaml(specOptions);
  const parsed = parseSpec(specText, { file: `specs/${options.model}.yaml` });
  if (!parsed.ok) throw new Error(`test spec does not parse: ${JSON.stringify(parsed.errors)}`);
  const deployment: DeploymentRef = {
    model: options.model,
    environment: parsed.spec.spec.rollout.environment,
    commit: 'c0ffee00'.repeat(5),
    specPath: `specs/${options.model}.yaml`,
    repository: '/stub/repo',
    author: STUB_AUTHOR,
  };
  return { deployment, spec: parsed.spec, specText };
}

/** Starts DeployModel the way the CLI does, with its stub script registered first. */
export async function startStubbedDeployment(
  stack: StubStack,
  options: StubDeployment,
): Promise<{ handle: WorkflowHandle<typeof DeployModel>; run: StubRun }> {
  const input = deployInput(options);
  const run = stack.stubs.run(deployModelWorkflowId(input.deployment), options.script ?? {});
  const handle = await startDeployment(stack.client, stack.taskQueue, input);
  return { handle, run };
}

/** Polls the `status` query until the run is at `stage`; fails with where it is instead. */
export async function waitForStage(
  handle: WorkflowHandle<typeof DeployModel>,
  stage: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let now = '';
  while (Date.now() < deadline) {
    now = (await handle.query(statusQuery)).stage;
    if (now === stage) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${handle.workflowId} did not reach ${stage} within ${timeoutMs} ms: at ${now}`);
}
