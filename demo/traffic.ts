/**
 * A steady trickle of live traffic for the rest of the demo: holdout rows sent to `iris` at a
 * fixed rate (open loop, so a slow server does not slow the senders down). The rollout steps judge
 * the candidate on exactly this traffic; nothing else feeds them.
 */
import { join } from 'node:path';
import {
  type LoadOptions,
  type LoadSummary,
  type ProgressSnapshot,
  runLoad,
} from '../serving/loadgen/index.ts';
import { PROJECT_ROOT } from '../worker/temporal-cli.ts';

export interface Traffic {
  /** Stops sending, waits for requests in flight, and returns what was measured. */
  stop(): Promise<LoadSummary>;
}

/**
 * Starts sending and resolves after the first second of traffic, so that a server that cannot be
 * reached fails the demo here, not later as a rollout starved of traffic. The run is bounded by
 * `maxMs` even if nobody stops it.
 */
export async function startTraffic(options: {
  url: string;
  model: string;
  ratePerS: number;
  maxMs: number;
  /** Replay the holdout with one feature shifted: drifted traffic for the monitor. */
  shift?: LoadOptions['shift'];
}): Promise<Traffic & { first: ProgressSnapshot }> {
  const controller = new AbortController();
  let flowing: (progress: ProgressSnapshot) => void = () => {};
  const firstSecond = new Promise<ProgressSnapshot>((resolveFirst) => {
    flowing = resolveFirst;
  });
  const done = runLoad(
    {
      url: options.url,
      model: options.model,
      holdout: join(PROJECT_ROOT, 'models', 'iris', 'holdout.csv'),
      mode: { kind: 'rate', ratePerS: options.ratePerS },
      durationMs: options.maxMs,
      ...(options.shift ? { shift: options.shift } : {}),
    },
    { signal: controller.signal, onProgress: (progress) => flowing(progress) },
  );
  // Whoever calls stop() sees a failure; until then it must not count as unhandled.
  done.catch(() => {});
  const stop = async () => {
    controller.abort();
    return done;
  };
  const first = await Promise.race([
    firstSecond,
    done.then(() => {
      throw new Error('the traffic generator stopped before sending for a second');
    }),
  ]);
  return { first, stop };
}
