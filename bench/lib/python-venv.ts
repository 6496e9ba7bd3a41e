/**
 * The benchmark-only Python environment for the Python peer: `.tools/bench-venv` (git-ignored),
 * created on first need from the pinned `bench/python-peer/requirements.txt`, and recreated when
 * that file changes (a stamp holds its sha256). Never touches the project's own dependencies.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../test/support/paths.ts';

const run = promisify(execFile);

export const VENV_DIR = join(REPO_ROOT, '.tools', 'bench-venv');
const REQUIREMENTS = join(REPO_ROOT, 'bench', 'python-peer', 'requirements.txt');
const STAMP = join(VENV_DIR, '.requirements.sha256');

export interface PythonPeerEnv {
  python: string;
  pythonVersion: string;
  onnxruntimeVersion: string;
  /** True when this call created or recreated the environment. */
  created: boolean;
}

/** Makes sure the venv exists with exactly the pinned requirements; returns its interpreter. */
export async function ensurePythonPeerEnv(log: (line: string) => void): Promise<PythonPeerEnv> {
  const wanted = createHash('sha256')
    .update(await readFile(REQUIREMENTS))
    .digest('hex');
  const python = join(VENV_DIR, 'bin', 'python');
  const stamp = existsSync(STAMP) ? (await readFile(STAMP, 'utf8')).trim() : '';
  let created = false;
  if (!existsSync(python) || stamp !== wanted) {
    log(`bench: creating ${VENV_DIR} from ${REQUIREMENTS} (first run only, about a minute)`);
    await rm(VENV_DIR, { recursive: true, force: true });
    await run('python3', ['-m', 'venv', VENV_DIR]);
    await run(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    await writeFile(STAMP, `${wanted}\n`);
    created = true;
  }
  const { stdout } = await run(python, [
    '-c',
    'import platform, onnxruntime; print(platform.python_version(), onnxruntime.__version__)',
  ]);
  const [pythonVersion = '?', onnxruntimeVersion = '?'] = stdout.trim().split(' ');
  return { python, pythonVersion, onnxruntimeVersion, created };
}
