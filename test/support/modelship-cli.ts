/**
 * The `modelship` command run as a user runs it, in a child process: the test's own worker keeps
 * running in this process while the command waits on it.
 */
import { spawn } from 'node:child_process';
import { repoPath } from './paths.ts';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `modelship <args>` in `cwd` with `env` added to this process's environment. */
export function runModelship(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<CliRun> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [repoPath('bin/modelship.mjs'), ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}
