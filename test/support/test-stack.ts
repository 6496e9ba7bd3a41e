/**
 * What every workflow test file needs around the shared dev server: a temporary MODELSHIP_HOME
 * with its audit log, a real data plane, a client, and a worker on a task queue of its own, running
 * the run's one workflow bundle.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditStore } from '../../audit/store.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import type { RegistrySettings } from '../../oci/environment-stores.ts';
import type { GitCredentials } from '../../sources/git/checkouts.ts';
import { createModelshipWorker } from '../../worker/worker.ts';
import { startTestDataPlane, type TestDataPlane } from './data-plane.ts';
import { installTestRuntime } from './temporal-runtime.ts';
import { sharedWorkflowBundle } from './workflow-bundle.ts';

export interface TestStack {
  address: string;
  taskQueue: string;
  home: string;
  audit: AuditStore;
  dataPlane: TestDataPlane;
  client: Client;
  /** Stops the worker only (as if its machine went away): another worker must carry on. */
  stopWorker(): Promise<void>;
  /** Stops the worker and everything else, in reverse order. */
  stop(): Promise<void>;
}

/**
 * Starts the stack for one test file; `name` makes its task queue and temp dir recognisable;
 * `git` is what the worker presents to deployments' repositories (`MODELSHIP_GIT_TOKEN`…).
 */
export async function startTestStack(
  name: string,
  options: {
    git?: GitCredentials;
    /** Rollouts drive a fleet of replicas following this desired state (they are the test's to start). */
    desiredState?: DesiredStateStore;
    registry?: RegistrySettings;
    evidenceKeyPath?: string;
  } = {},
): Promise<TestStack> {
  installTestRuntime('WARN');
  const address = inject('temporalAddress');
  const taskQueue = `${name}-${process.pid}-${Date.now()}`;
  const home = await mkdtemp(join(tmpdir(), `modelship-${name}-`));
  const audit = await openAuditStore(home);
  const dataPlane = await startTestDataPlane();
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const worker = await createModelshipWorker({
    connection,
    namespace: 'default',
    taskQueue,
    home,
    audit,
    dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
    workflowBundle: await sharedWorkflowBundle(),
    ...(options.git ? { git: options.git } : {}),
    // Short, so a test of a lagging replica sees the named failure within seconds.
    ...(options.desiredState ? { desiredState: options.desiredState, fleetWaitMs: 3000 } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.evidenceKeyPath ? { evidenceKeyPath: options.evidenceKeyPath } : {}),
    client: async () => client,
  });
  const workerRun = worker.run();
  return {
    address,
    taskQueue,
    home,
    audit,
    dataPlane,
    client,
    async stopWorker() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    },
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await connection.close();
      await client.connection.close();
      await audit.close();
      await dataPlane.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
