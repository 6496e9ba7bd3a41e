/**
 * Starts one real `temporal server start-dev` (in memory) for the whole workflow test run and
 * hands its address to the tests through vitest's `provide`/`inject`. Its Web UI is on too, for
 * the browser test of approving in the UI (`test/e2e/web-ui-approve.test.ts`) and for a person
 * looking at a test run's workflows.
 *
 * Meanwhile it bundles the workflows once for the whole run (`workflow-bundle.ts`): every worker
 * of every test file, the replays and the worker child processes run this code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../worker/dev-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The Web UI of the same server, `http://127.0.0.1:PORT`. */
    temporalUiAddress: string;
    /** A file holding the code of `bundleWorkflows()` for this run's sources. */
    workflowBundlePath: string;
  }
}

/** Bundles the workflows as the worker does, into a file in `dir`; returns its path. */
async function writeWorkflowBundle(dir: string): Promise<string> {
  const { bundleWorkflows } = await import('../../worker/worker.ts');
  const file = join(dir, 'workflow-bundle.js');
  await writeFile(file, (await bundleWorkflows()).code);
  return file;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-test-run-'));
  const [started, bundled] = await Promise.allSettled([
    startDevServer({ startTimeoutMs: 90_000, uiPort: 'free' }),
    writeWorkflowBundle(dir),
  ]);
  if (started.status === 'rejected' || bundled.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    await rm(dir, { recursive: true, force: true });
    throw started.status === 'rejected' ? started.reason : (bundled as PromiseRejectedResult).reason;
  }
  const server = started.value;
  const bundlePath = bundled.value;
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiAddress', server.uiAddress ?? '');
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
