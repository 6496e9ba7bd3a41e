/**
 * The benchmark's load generator process: `runLoad` behind IPC, so that the client lives in a
 * process of its own (pinned to its own core) for the whole benchmark instead of being started
 * once per measurement. One run at a time. Messages: `{ id, run: LoadOptions }` answered with
 * `{ id, summary, cpuS }` (the client's CPU seconds during the run) or `{ id, error }`; `{ abort: true }` stops the current run early.
 */
import { type LoadOptions, type LoadSummary, runLoad } from '../serving/loadgen/index.ts';

/** A message from the parent. */
export type ClientRequest = { id: number; run: LoadOptions } | { abort: true };
/** A message to the parent. */
export type ClientReply = { id: number; summary: LoadSummary; cpuS: number } | { id: number; error: string };

if (!process.send) throw new Error('client-worker.ts must be started with an IPC channel');
const send = (reply: ClientReply) => process.send?.(reply);
let current: AbortController | undefined;

process.on('message', (message: ClientRequest) => {
  if ('abort' in message) {
    current?.abort();
    return;
  }
  const controller = new AbortController();
  current = controller;
  // The client's own CPU time shows whether it had headroom (a saturated client measures itself).
  const before = process.cpuUsage();
  runLoad(message.run, { signal: controller.signal }).then(
    (summary) => {
      const used = process.cpuUsage(before);
      send({ id: message.id, summary, cpuS: (used.user + used.system) / 1e6 });
    },
    (error: unknown) => send({ id: message.id, error: (error as Error).message }),
  );
});
process.on('disconnect', () => process.exit(0));
