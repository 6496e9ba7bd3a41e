/**
 * Builds the workflow bundle the way the worker does. CI runs it so that a workflow importing
 * I/O, a Node built-in or activity code as a value fails here, before any test starts.
 * With `--out FILE` it writes the bundle for a production worker (`workflowBundle: { codePath }`).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bundleWorkflows } from '../worker/worker.ts';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const started = Date.now();
const bundle = await bundleWorkflows();
if (values.out) await writeFile(values.out, bundle.code);
console.log(
  `workflow bundle: ${(bundle.code.length / 1024).toFixed(0)} KiB in ${Date.now() - started} ms${values.out ? ` → ${values.out}` : ''}`,
);
