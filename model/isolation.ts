/**
 * Runs `runModel` (load + holdout + latency) in a child process with a wall-clock limit and a
 * memory limit, so that a model that loops, allocates without bound or crashes onnxruntime's
 * native code takes down that process and not the worker.
 *
 * How memory is bounded, and what that does and does not cover:
 * - On Linux with util-linux's `prlimit` (the normal case) the child is started as
 *   `prlimit --as=<bytes> node ...`: the kernel caps the process's address space (RLIMIT_AS),
 *   so every allocation past the cap fails at once, in JS and in onnxruntime's C++ alike
 *   (onnxruntime turns that into a load or run error; V8 aborts). It bounds virtual memory, which
 *   is more than resident memory: thread stacks, malloc arenas and V8's reservations count in
 *   full (the child runs with `--disable-wasm-trap-handler`, or WebAssembly's 10 GiB guard
 *   reservations would not fit), and Node with tsx's loader thread and onnxruntime needs close
 *   to 2 GiB of address space before loading any model, hence `MIN_MEMORY_BYTES`. It does not
 *   bound what the child makes the kernel hold (page cache of the files it reads).
 * - Without prlimit, a watchdog reads the child's resident set (`/proc/<pid>/status`) every
 *   100 ms and kills it past the limit: it measures real memory but can be overshot between two
 *   reads, and it needs /proc. Where neither exists, only V8's heap limit applies.
 * - Always: `--max-old-space-size` caps the child's JS heap at a quarter of the limit, and a
 *   timer SIGKILLs the child when the wall-clock limit passes (a process that starves under
 *   RLIMIT_AS can hang rather than fail, so the timer is the backstop for everything).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError, ModelErrorKind } from './errors.ts';
import type { ProgressReporter } from './feeding.ts';
import type { ModelRunRequest, ModelRunResult } from './model-run.ts';
import { ChildMessage, type ParentMessage } from './run-protocol.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Limits of one isolated run; a plain data object, so an environment policy can carry it. */
export interface IsolationLimits {
  /** Wall-clock time for the whole child: start, load, holdout pass and latency runs. */
  timeoutMs: number;
  /** Memory of the child in bytes: its address-space limit under prlimit, else its resident set. */
  memoryBytes: number;
}

/**
 * 5 minutes covers loading and validating a model of hundreds of MiB on this project's
 * 2-core machines (the activity's own start-to-close timeout is 15 minutes); 4 GiB of address
 * space leaves about 3 GiB for the model once Node and onnxruntime have started.
 */
export const DEFAULT_ISOLATION_LIMITS: IsolationLimits = { timeoutMs: 5 * 60_000, memoryBytes: 4 * GiB };

/**
 * Below this address space the child cannot start (measured on Node 20 / onnxruntime 1.30: at
 * 1.5 GiB V8 fails to reserve the code range of the second isolate tsx's loader runs in).
 */
const MIN_MEMORY_BYTES = 2 * GiB;

/** How the memory limit of a run is enforced. */
type MemoryBound = 'prlimit' | 'rss-watchdog' | 'heap-only';

interface IsolatedRunOptions {
  limits: IsolationLimits;
  /** Called with the child's progress, and every `keepAliveMs` while it is quiet; may throw to abort. */
  onProgress: ProgressReporter;
  /** Aborting kills the child and rejects with the signal's reason (activity cancellation). */
  signal?: AbortSignal;
  keepAliveMs?: number;
  /** How to bound memory; default: the strongest this machine has (`memoryBound()`). */
  memoryBound?: MemoryBound;
}

const CHILD_ENTRY = fileURLToPath(new URL('./run-child.mjs', import.meta.url));
const TAIL_BYTES = 4096;

let prlimitLookup: Promise<string | undefined> | undefined;

/** util-linux's prlimit, if this is Linux and it is installed. */
function findPrlimit(): Promise<string | undefined> {
  prlimitLookup ??= (async () => {
    if (process.platform !== 'linux') return undefined;
    const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin'].filter(Boolean);
    for (const dir of dirs) {
      const candidate = join(dir, 'prlimit');
      if (
        await access(candidate, constants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return candidate;
    }
    return undefined;
  })();
  return prlimitLookup;
}

/**
 * Without trap-handler bounds checks WebAssembly reserves only what it uses, which is what lets
 * the child (tsx parses modules with a WebAssembly lexer) start under RLIMIT_AS at all.
 */
const WASM_FLAG = '--disable-wasm-trap-handler';

/** prlimit, when it can be used: installed, and this Node can start under an address-space cap. */
async function usablePrlimit(): Promise<string | undefined> {
  return process.allowedNodeEnvironmentFlags.has(WASM_FLAG) ? findPrlimit() : undefined;
}

/** How `runModelIsolated` will bound memory on this machine. */
export async function memoryBound(): Promise<MemoryBound> {
  if (await usablePrlimit()) return 'prlimit';
  return (await access('/proc/self/status').then(
    () => true,
    () => false,
  ))
    ? 'rss-watchdog'
    : 'heap-only';
}

/** The child's environment: the worker's, minus loader flags, with onnxruntime's opset check forced on. */
function childEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _loaderFlags, ...env } = process.env;
  return { ...env, ALLOW_RELEASED_ONNX_OPSET_ONLY: '1' };
}

async function residentBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kib = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kib ? Number(kib) * 1024 : undefined;
}

/** Keeps the last few KiB of what the child prints, for failure messages. */
function tail(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text.trim();
}

/** The informative part of what a dying child printed: skips Node's version trailer and V8's `#` frames. */
const lastLine = (text: string) =>
  text
    .split('\n')
    .map((line) => line.replace(/^#\s*/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('Node.js v'))
    .at(-1) ?? '';

/**
 * Runs the request in an isolated child; resolves with its result once the child has exited.
 * Domain failures raised in the child are re-raised here with their type; a child killed by a
 * limit, or dying once it has started on the model, is ModelUnloadable; a child that never got
 * ready is infrastructure trouble (a plain Error, retried).
 */
export async function runModelIsolated(
  request: ModelRunRequest,
  options: IsolatedRunOptions,
): Promise<ModelRunResult> {
  const { limits, onProgress, signal } = options;
  if (limits.memoryBytes < MIN_MEMORY_BYTES) {
    throw new Error(
      `validation memory limit ${limits.memoryBytes} bytes is below ${MIN_MEMORY_BYTES}: Node, tsx and onnxruntime need about 2 GiB of address space to start`,
    );
  }
  signal?.throwIfAborted();
  const bound = options.memoryBound ?? (await memoryBound());
  const prlimit = bound === 'prlimit' ? await usablePrlimit() : undefined;
  if (bound === 'prlimit' && !prlimit) throw new Error('prlimit is not usable on this machine');
  const heapMiB = Math.max(128, Math.floor(limits.memoryBytes / MiB / 4));
  const nodeArgs = [`--max-old-space-size=${heapMiB}`, ...(prlimit ? [WASM_FLAG] : []), CHILD_ENTRY];
  const child = prlimit
    ? spawn(prlimit, [`--as=${limits.memoryBytes}`, '--', process.execPath, ...nodeArgs], spawnOptions())
    : spawn(process.execPath, nodeArgs, spawnOptions());
  const output = tail(child);

  return new Promise<ModelRunResult>((resolveRun, rejectRun) => {
    let ready = false;
    let phase = 'starting';
    let killedFor: 'timeout' | 'memory' | undefined;
    let outcome: { result: ModelRunResult } | { error: unknown } | undefined;
    const timers: NodeJS.Timeout[] = [];

    const settle = (value: { result: ModelRunResult } | { error: unknown }) => {
      outcome ??= value;
      if (child.exitCode === null && child.signalCode === null) {
        // A child that has answered gets a moment to exit on its own; anything else dies now.
        if ('result' in value) timers.push(setTimeout(() => child.kill('SIGKILL'), 1000));
        else child.kill('SIGKILL');
      }
    };
    const abort = () => settle({ error: signal?.reason });
    signal?.addEventListener('abort', abort, { once: true });
    const progress = (details: Parameters<ProgressReporter>[0]) => {
      try {
        onProgress(details);
      } catch (error) {
        settle({ error });
      }
    };

    timers.push(
      setTimeout(() => {
        killedFor = 'timeout';
        child.kill('SIGKILL');
      }, limits.timeoutMs),
      setInterval(() => progress({ phase }), options.keepAliveMs ?? 10_000),
    );
    if (bound === 'rss-watchdog' && child.pid !== undefined) {
      const pid = child.pid;
      timers.push(
        setInterval(() => {
          void residentBytes(pid).then((bytes) => {
            if (bytes !== undefined && bytes > limits.memoryBytes && outcome === undefined) {
              killedFor = 'memory';
              child.kill('SIGKILL');
            }
          });
        }, 100),
      );
    }

    child.on('message', (raw: unknown) => {
      const parsed = ChildMessage.safeParse(raw);
      if (!parsed.success) {
        settle({
          error: new Error(`the validation process sent an unexpected message: ${parsed.error.message}`),
        });
        return;
      }
      const message = parsed.data;
      switch (message.kind) {
        case 'ready': {
          ready = true;
          phase = 'loading';
          const run: ParentMessage = { kind: 'run', request };
          child.send(run, (error) => {
            if (error) settle({ error });
          });
          return;
        }
        case 'progress':
          phase = message.details.phase;
          progress(message.details);
          return;
        case 'result':
          settle({ result: message.result });
          return;
        case 'failure':
          settle({ error: new ModelError(message.type, message.message, message.details) });
          return;
        case 'error':
          settle({ error: new Error(`validation process error: ${message.message}`) });
          return;
      }
    });
    const finish = (final: { result: ModelRunResult } | { error: unknown }) => {
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      if ('result' in final) resolveRun(final.result);
      else rejectRun(final.error);
    };
    child.once('error', (error) => {
      // No process was started (prlimit or node missing): there will be no 'close' to wait for.
      if (child.pid === undefined) finish({ error });
      else settle({ error });
    });
    // 'close', not 'exit': it comes after the IPC channel has delivered everything the child sent.
    child.once('close', (code, exitSignal) => {
      finish(
        outcome ?? {
          error: deathFailure({ request, limits, phase, ready, killedFor, code, exitSignal, output }),
        },
      );
    });
  });
}

function spawnOptions(): SpawnOptions {
  return { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', env: childEnv() };
}

/** What the child was doing to the model in a phase, as words: "running the holdout through it". */
function during(phase: string): string {
  switch (phase) {
    case 'loading':
      return 'loading it';
    case 'holdout':
      return 'running the holdout through it';
    case 'latency':
      return 'timing single-row inference';
    default:
      return phase;
  }
}

/** Why the child exited without an answer, as the failure validation reports. */
function deathFailure(facts: {
  request: ModelRunRequest;
  limits: IsolationLimits;
  phase: string;
  ready: boolean;
  killedFor: 'timeout' | 'memory' | undefined;
  code: number | null;
  exitSignal: NodeJS.Signals | null;
  output: () => string;
}): Error {
  const { request, limits, phase, killedFor } = facts;
  const memory = `${Math.round(limits.memoryBytes / MiB)} MiB`;
  const printed = lastLine(facts.output());
  const how = facts.exitSignal ? `signal ${facts.exitSignal}` : `exit code ${facts.code}`;
  if (!facts.ready) {
    // Nothing of the model had reached the child yet: a slow machine or a broken install.
    const why =
      killedFor === 'timeout' ? `did not get ready within ${limits.timeoutMs / 1000} s` : `exited (${how})`;
    return new Error(
      `the validation process ${why} before it was given the model${printed ? `: ${printed}` : ''}`,
    );
  }
  const details = { phase, limits, exit: facts.exitSignal ?? facts.code, output: facts.output() };
  if (killedFor === 'timeout') {
    return new ModelError(
      ModelErrorKind.ModelUnloadable,
      `model ${request.label} did not finish validation within ${limits.timeoutMs / 1000} s: onnxruntime was still ${during(phase)} when its process was killed`,
      details,
    );
  }
  if (killedFor === 'memory') {
    return new ModelError(
      ModelErrorKind.ModelUnloadable,
      `model ${request.label} made onnxruntime use more than ${memory} while ${during(phase)}; its process was killed`,
      details,
    );
  }
  return new ModelError(
    ModelErrorKind.ModelUnloadable,
    `onnxruntime's process died (${how}) with model ${request.label} while ${during(phase)}, under a ${memory} memory limit${printed ? `: ${printed}` : ''}`,
    details,
  );
}
