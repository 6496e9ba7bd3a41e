/**
 * One workflow bundle per test run. Bundling the workflows (webpack) costs seconds of CPU, and
 * every file with a worker, every replay and every worker child process used to pay it again.
 * The workflows project's global setup (`temporal-global-setup.ts`) bundles the current sources
 * once with `bundleWorkflows()`, as the worker does, into a file whose path it provides; a test
 * process waits for that file, reads it once and hands the same code to each of its workers.
 *
 * Without a provided path (a file of the unit project) the bundle is built in the process the
 * first time it is asked for, so the helpers work the same from any test file.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';
import { inject } from 'vitest';

let path: Promise<string> | undefined;
let bundle: Promise<WorkflowBundle> | undefined;

/** The global setup's bundle file once it is written; throws its error if bundling failed. */
async function providedBundle(file: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(file)) return file;
    if (existsSync(`${file}.error`)) {
      throw new Error(`bundling the workflows failed:\n${await readFile(`${file}.error`, 'utf8')}`);
    }
    if (Date.now() > deadline) throw new Error(`no workflow bundle at ${file} after ${timeoutMs} ms`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

/** This run's workflow bundle, for `Worker.create({ workflowBundle })` and replays. */
export function sharedWorkflowBundle(): Promise<WorkflowBundle> {
  bundle ??= (async () => {
    const provided = inject('workflowBundlePath');
    if (provided) return { code: await readFile(await providedBundle(provided), 'utf8') };
    // Loaded only here: the worker module pulls in every activity and its dependencies.
    const { bundleWorkflows } = await import('../../worker/worker.ts');
    return bundleWorkflows();
  })();
  return bundle;
}

/** The file holding this run's bundle, for worker child processes (`bundlePath`). */
export function sharedWorkflowBundlePath(): Promise<string> {
  path ??= (async () => {
    const provided = inject('workflowBundlePath');
    if (provided) return providedBundle(provided);
    const dir = await mkdtemp(join(tmpdir(), 'modelship-workflow-bundle-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'workflow-bundle.js');
    await writeFile(file, (await sharedWorkflowBundle()).code);
    return file;
  })();
  return path;
}
