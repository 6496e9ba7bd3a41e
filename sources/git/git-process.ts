/**
 * Running Git for the checkout cache: an argument vector (no shell), an environment built here,
 * stdin closed, output bounded, progress read from stderr, and an end to a run that stalls or is
 * cancelled.
 *
 * Not simple-git, which the rest of the project uses: its guard against unsafe operations
 * refuses exactly what this module must set (`GIT_SSH_COMMAND`, `GIT_CONFIG_COUNT`, emptying
 * `credential.helper`), and it refuses to run at all when the worker's environment holds
 * `EDITOR` or `PAGER`. A spawn with an environment of our own making is fewer moving parts.
 */
import { spawn } from 'node:child_process';

/**
 * Configuration every run gets, whatever the user's or system's Git configuration says: no
 * prompt or credential helper answers for the worker (its credentials come from its own
 * environment), no hook runs, no submodule is fetched, objects are checked as they arrive
 * (a hostile repository's `..` or `.git` paths are refused there), a transfer slower than 1 kB/s
 * for a minute is stopped, and a checkout writes blobs as they are, with no line-ending
 * conversion. Links are written as plain files holding their text except where `tree.ts` asks
 * for links and then judges each one.
 */
const FIXED_CONFIG: readonly [string, string][] = [
  ['core.askPass', ''],
  ['credential.helper', ''],
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.symlinks', 'false'],
  ['core.autocrlf', 'false'],
  ['core.sparseCheckout', 'false'],
  ['transfer.fsckObjects', 'true'],
  ['fetch.recurseSubmodules', 'false'],
  ['submodule.recurse', 'false'],
  ['protocol.version', '2'],
  ['http.lowSpeedLimit', '1000'],
  ['http.lowSpeedTime', '60'],
];

/** Variables kept from the worker's environment among Git's own: where its CA certificates are. */
const KEPT_GIT_VARIABLES = new Set(['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH']);

/**
 * The environment Git runs in: the worker's, without Git's own variables (a `GIT_DIR`, a trace
 * that would print the Authorization header, an askpass program), plus `config` passed as
 * `GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` and the ssh command.
 */
export function gitEnvironment(
  base: NodeJS.ProcessEnv,
  config: readonly [string, string][],
  sshCommand: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (name.startsWith('GIT_') && !KEPT_GIT_VARIABLES.has(name)) continue;
    if (name === 'SSH_ASKPASS') continue;
    env[name] = value;
  }
  const entries = [...FIXED_CONFIG, ...config];
  entries.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(entries.length);
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_SSH_COMMAND = sshCommand;
  env.GIT_SSH_VARIANT = 'ssh';
  return env;
}

/** Git failed: its exit status and what it printed (progress lines left out). */
export class GitCommandError extends Error {
  override readonly name = 'GitCommandError';
  constructor(
    readonly stderr: string,
    readonly exitCode: number | null,
    /** True when the run was stopped for printing nothing for too long. */
    readonly stalled: boolean,
  ) {
    super(`git exited with ${exitCode ?? 'a signal'}${stalled ? ' (stalled)' : ''}: ${stderr.slice(-400)}`);
  }
}

export interface GitRunOptions {
  /** Added to the runner's environment for this run (`GIT_INDEX_FILE`). */
  env?: Record<string, string>;
  cwd?: string;
  signal?: AbortSignal;
  /** Stops the run when Git prints nothing for this long: a server that accepts and never answers. */
  stallTimeoutMs?: number;
  /** Git's progress: the stage (`receiving objects`) and its percentage when it printed one. */
  onProgress?: (stage: string, percent: number | undefined) => void;
}

/** Runs `git <args>`, resolving with stdout. */
export type RunGit = (args: readonly string[], options?: GitRunOptions) => Promise<string>;

const MAX_STDOUT = 1 << 20;
const MAX_STDERR = 16 << 10;
/**
 * `Receiving objects:  45% (9/20)`, `remote: Enumerating objects: 5, done.`; never a line that
 * says what went wrong, even one that starts with a number.
 */
const PROGRESS =
  /^(?:remote: )?(?!(?:fatal|error|warning|hint)\b)([A-Za-z][A-Za-z ]*?):\s+(?:(\d{1,3})%|\d+(?:,|$))/i;

/**
 * A runner with a fixed environment. Every run refuses the `ext` and `fd` transports on its
 * command line too, so that no configuration can enable them. Processes run in their own group,
 * and stopping one stops Git's helpers (`git-remote-https`, ssh) with it.
 */
export function gitRunner(env: NodeJS.ProcessEnv): RunGit {
  return (args, options = {}) =>
    new Promise((resolveRun, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const child = spawn(
        'git',
        ['-c', 'protocol.ext.allow=never', '-c', 'protocol.fd.allow=never', ...args],
        {
          env: { ...env, ...options.env },
          ...(options.cwd ? { cwd: options.cwd } : {}),
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      let stdout = '';
      let stderr = '';
      let partial = '';
      let stalled = false;
      let lastProgress = '';
      let callbackError: { error: unknown } | undefined;
      let timer: NodeJS.Timeout | undefined;
      const signalGroup = (name: NodeJS.Signals) => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        try {
          process.kill(-child.pid, name);
        } catch {
          // The group is already gone.
        }
      };
      const stop = () => {
        signalGroup('SIGTERM');
        // Git cleans up on SIGTERM (lock files, half-written packs); a helper stuck in a system
        // call gets no choice a few seconds later.
        setTimeout(() => signalGroup('SIGKILL'), 5000).unref();
      };
      const armStallTimer = () => {
        if (!options.stallTimeoutMs) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          stalled = true;
          stop();
        }, options.stallTimeoutMs);
      };
      const onAbort = () => stop();
      signal?.addEventListener('abort', onAbort, { once: true });
      armStallTimer();
      child.stdout.on('data', (chunk: Buffer) => {
        armStallTimer();
        if (stdout.length < MAX_STDOUT) stdout += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        armStallTimer();
        const segments = (partial + chunk.toString('utf8')).split(/[\r\n]/);
        partial = segments.pop() ?? '';
        for (const segment of segments) {
          const progress = PROGRESS.exec(segment);
          if (!progress?.[1]) {
            if (segment.trim()) stderr = `${stderr}${segment}\n`.slice(-MAX_STDERR);
            continue;
          }
          const stage = progress[1].toLowerCase();
          const percent = progress[2] === undefined ? undefined : Number(progress[2]);
          const key = `${stage}:${percent}`;
          if (key === lastProgress) continue;
          lastProgress = key;
          try {
            options.onProgress?.(stage, percent);
          } catch (error) {
            // A callback that throws (a heartbeat reporting cancellation) ends the run with its error.
            callbackError ??= { error };
            stop();
          }
        }
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (partial.trim()) stderr = `${stderr}${partial}\n`.slice(-MAX_STDERR);
        if (callbackError) reject(callbackError.error);
        else if (signal?.aborted) reject(signal.reason);
        else if (code === 0 && !stalled) resolveRun(stdout);
        else reject(new GitCommandError(stderr, code, stalled));
      });
    });
}
