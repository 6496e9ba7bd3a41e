/**
 * What every workflow test file needs around the shared dev server: a temporary MODELSHIP_HOME
 * with its audit log, a real data plane, a client, and a worker on a task queue of its own, running
 * the run's one workflow bundle.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditStore } from '../../audit/store.ts';
import { createModelshipWorker } from '../../worker/worker.ts';
import { startTestDataPlane, type TestDataPlane } from './data-plane.ts';
import { sharedWorkflowBundle } from './workflow-bundle.ts';

export interface TestStack {
  address: string;
  taskQueue: string;
  home: string;
  audit: AuditStore;
  dataPlane: TestDataPlane;
  client: Client;
  /** Stops the worker and everything else, in reverse order. */
  stop(): Promise<void>;
}

/** Starts the stack for one test file; `name` makes its task queue and temp dir recognisable. */
export async function startTestStack(name: string): Promise<TestStack> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
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
  });
  const workerRun = worker.run();
  return {
    address,
    taskQueue,
    home,
    audit,
    dataPlane,
    client,
    async stop() {
      worker.shutdown();
      await workerRun;
      await connection.close();
      await client.connection.close();
      await audit.close();
      await dataPlane.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
