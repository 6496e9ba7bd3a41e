/**
 * Running the container tools (docker, mmdebstrap, docker-compose) as child processes, with their
 * output forwarded line by line to a progress callback: image builds and stack starts take
 * minutes, and a user watching a silent terminal cannot tell working from stuck.
 */
import { spawn } from 'node:child_process';

export type Progress = (line: string) => void;

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each line the command prints (stdout and stderr); none: the output is kept only. */
  onLine?: Progress;
  /** Bytes written to the command's stdin. */
  input?: string | Buffer;
}

export interface RunResult {
  code: number;
  /** stdout and stderr interleaved as printed, the last 64 KiB: what an error message quotes. */
  output: string;
  stdout: string;
}

const KEPT_OUTPUT = 64 * 1024;

/** Runs `command args`, resolving with its exit code and output; rejects only if it cannot start. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    const pending = { stdout: '', stderr: '' };
    const take = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-KEPT_OUTPUT);
      if (stream === 'stdout') stdout += text;
      if (!options.onLine) return;
      const lines = (pending[stream] + text).split(/\r?\n|\r/);
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onLine(line);
    };
    child.stdout?.on('data', (chunk: Buffer) => take('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => take('stderr', chunk));
    child.on('error', (error) =>
      reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code) => {
      for (const rest of Object.values(pending)) if (rest.trim()) options.onLine?.(rest);
      resolve({ code: code ?? 1, output, stdout });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs the command and throws, quoting the end of its output, when it fails. */
export async function mustRun(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const tail = result.output.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} … failed (exit ${result.code}):\n${tail}`);
  }
  return result;
}
