/** Writing a benchmark's results file: JSON in the repository's own format. */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../test/support/paths.ts';

/**
 * Writes `value` as JSON to `path`, then formats it with Biome so that `npm run lint` (Biome over
 * every file, results included) stays green; a formatter that cannot run is only reported.
 */
export async function writeResultsFile(
  path: string,
  value: unknown,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  await promisify(execFile)(join(REPO_ROOT, 'node_modules', '.bin', 'biome'), [
    'format',
    '--write',
    path,
  ]).catch((error: Error) => log(`bench: could not format ${path} with biome: ${error.message}`));
}
