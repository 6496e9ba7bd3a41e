/** The parent's handle on the load generator process (`bench/client-worker.ts`). */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadSummary } from '../../serving/loadgen/index.ts';
import type { ClientReply, ClientRequest } from '../client-worker.ts';
import { spawnPinned, stopChild } from './processes.ts';

const WORKER = fileURLToPath(new URL('../client-worker.ts', import.meta.url));

/** A finished run and the load generator's CPU use during it. */
interface ClientRun {
  summary: LoadSummary;
  /** CPU seconds the load generator used; divided by `summary.durationS`, its busy share of a core. */
  cpuS: number;
}

export interface LoadClient {
  run(options: LoadOptions): Promise<ClientRun>;
  /** Stops the run in progress early; its summary still arrives through `run`. */
  abort(): void;
  close(): Promise<void>;
}

export function startLoadClient(cpu: number | undefined): LoadClient {
  const child: ChildProcess = spawnPinned(
    cpu,
    process.execPath,
    ['--import', 'tsx', WORKER],
    ['ignore', 'inherit', 'inherit', 'ipc'],
  );
  const waiting = new Map<number, { resolve(run: ClientRun): void; reject(error: Error): void }>();
  let nextId = 0;
  child.on('message', (reply: ClientReply) => {
    const pending = waiting.get(reply.id);
    waiting.delete(reply.id);
    if ('summary' in reply) pending?.resolve({ summary: reply.summary, cpuS: reply.cpuS });
    else pending?.reject(new Error(`load generator: ${reply.error}`));
  });
  child.on('exit', (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`load generator exited (${code})`));
    waiting.clear();
  });
  const send = (message: ClientRequest) => child.send(message);
  return {
    run(options) {
      nextId += 1;
      const id = nextId;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        send({ id, run: options });
      });
    },
    abort() {
      send({ abort: true });
    },
    async close() {
      child.disconnect();
      await stopChild(child);
    },
  };
}
