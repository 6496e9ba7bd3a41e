/**
 * Starts one real `temporal server start-dev` (in memory) for the whole workflow test run and
 * hands its address to the tests through vitest's `provide`/`inject`. Its Web UI is on too, for
 * the browser test of approving in the UI (`test/e2e/web-ui-approve.test.ts`) and for a person
 * looking at a test run's workflows.
 *
 * It also bundles the workflows once for the whole run (`workflow-bundle.ts`), in the background:
 * the unit tests run meanwhile, and the first worker waits for the file if it comes too early.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../worker/dev-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The Web UI of the same server, `http://127.0.0.1:PORT`. */
    temporalUiAddress: string;
    /**
     * Where the code of `bundleWorkflows()` for this run's sources appears once bundled (renamed
     * into place whole); `<path>.error` instead if bundling failed.
     */
    workflowBundlePath: string;
  }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles the workflows as the worker does (`scripts/build-workflow-bundle.ts`) into `file`, in a
 * child process so that webpack does not hold up this process (it serves the test files their
 * modules); or writes why not to `<file>.error`.
 */
async function writeWorkflowBundle(file: string): Promise<void> {
  let stderr = '';
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-workflow-bundle.ts', '--out', `${file}.partial`],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (code !== 0) throw new Error(`scripts/build-workflow-bundle.ts: exit ${code ?? signal}`);
    await rename(`${file}.partial`, file);
  } catch (error) {
    await writeFile(`${file}.error`, `${String(error)}\n${stderr}`);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-test-run-'));
  const bundlePath = join(dir, 'workflow-bundle.js');
  const bundling = writeWorkflowBundle(bundlePath);
  const removeDir = async () => {
    await bundling;
    await rm(dir, { recursive: true, force: true });
  };
  const server = await startDevServer({ startTimeoutMs: 90_000, uiPort: 'free' }).catch(async (error) => {
    await removeDir();
    throw error;
  });
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiAddress', server.uiAddress ?? '');
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server.stop();
    await removeDir();
  };
}
