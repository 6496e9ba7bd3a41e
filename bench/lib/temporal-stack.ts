/**
 * The Temporal side of the engine benchmark, wired as the workflow tests wire theirs
 * (`test/support/test-stack.ts`), without vitest: one `temporal server start-dev` (in memory),
 * one real data plane (`startServingServer`, admin API) in this process, the workflows bundled
 * once into a file, and modelship workers each in a process of its own
 * (`test/support/worker-process.ts`), so that a worker's memory is its own and not this
 * process's, which also runs the client and the data plane.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startServingServer } from '../../serving/server.ts';
import { spawnWorkerProcess, type WorkerProcess } from '../../test/support/worker-process.ts';
import { startDevServer } from '../../worker/dev-server.ts';

export interface DataPlane {
  url: string;
  adminToken: string;
}

export interface TemporalStack {
  address: string;
  /** The dev server's process, for its CPU time. */
  serverPid: number | undefined;
  client: Client;
  dataPlane: DataPlane;
  /** The file holding `bundleWorkflows()`'s code for these sources. */
  bundlePath: string;
  /** A scratch directory removed with the stack. */
  dir: string;
  /** A worker process on `taskQueue` with its own MODELSHIP_HOME, polling when this resolves. */
  startWorker(taskQueue: string): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

/** Bundles the workflows as the worker would, once, into `file`; returns how long it took. */
async function writeWorkflowBundle(file: string): Promise<number> {
  const started = performance.now();
  // Loaded here only: the worker module pulls in every activity and its dependencies.
  const { bundleWorkflows } = await import('../../worker/worker.ts');
  await writeFile(file, (await bundleWorkflows()).code);
  return performance.now() - started;
}

export async function startTemporalStack(): Promise<TemporalStack & { bundleMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-engine-'));
  const bundlePath = join(dir, 'workflow-bundle.js');
  const bundleMs = await writeWorkflowBundle(bundlePath);
  const server = await startDevServer({ startTimeoutMs: 90_000 });
  const adminToken = `bench-token-${process.pid}`;
  const serving = await startServingServer({ adminToken });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const workers: WorkerProcess[] = [];
  return {
    address: server.address,
    serverPid: server.process.pid,
    client,
    dataPlane: { url: serving.url, adminToken },
    bundlePath,
    bundleMs,
    dir,
    async startWorker(taskQueue) {
      const home = await mkdtemp(join(dir, 'worker-home-'));
      const worker = spawnWorkerProcess({
        address: server.address,
        taskQueue,
        home,
        dataPlane: { url: serving.url, adminToken },
        bundlePath,
      });
      workers.push(worker);
      await worker.running(120_000);
      return worker;
    },
    async stop() {
      for (const worker of workers) await worker.stop();
      await client.connection.close();
      await serving.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
