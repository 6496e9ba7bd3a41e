/**
 * One workflow bundle per test run. Bundling the workflows (webpack) costs seconds of CPU, and
 * every file with a worker, every replay and every worker child process used to pay it again.
 * The workflows project's global setup (`temporal-global-setup.ts`) bundles the current sources
 * once with `bundleWorkflows()`, as the worker does, writes the code to a file and provides its
 * path; a test process reads that file once and hands the same code to each of its workers.
 *
 * Without a provided path (a file of the unit project) the bundle is built in the process the
 * first time it is asked for, so the helpers work the same from any test file.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';
import { inject } from 'vitest';

let path: Promise<string> | undefined;
let bundle: Promise<WorkflowBundle> | undefined;

/** This run's workflow bundle, for `Worker.create({ workflowBundle })` and replays. */
export function sharedWorkflowBundle(): Promise<WorkflowBundle> {
  bundle ??= (async () => {
    const provided = inject('workflowBundlePath');
    if (provided) return { code: await readFile(provided, 'utf8') };
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
    if (provided) return provided;
    const dir = await mkdtemp(join(tmpdir(), 'modelship-workflow-bundle-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'workflow-bundle.js');
    await writeFile(file, (await sharedWorkflowBundle()).code);
    return file;
  })();
  return path;
}
