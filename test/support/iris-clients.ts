/**
 * Clients of a load balancer for the multi-replica tests: loops of iris inference requests,
 * cycling through the holdout's feature rows (so a candidate that disagrees on some shows it),
 * until stopped, every answer counted: what a user of the endpoint would see during a rollout.
 *
 * Each loop is paced (at most `perClientPerS` requests a second, 100 by default). Unpaced, two
 * loops sent about 700 requests a second and kept both cores busy for the whole rollout: the
 * balancer, the replicas and the clients then cost more CPU than everything else in the test, and
 * slowed every test running beside it, for no more evidence than a few hundred requests give.
 */
import { readFileSync } from 'node:fs';
import { irisRequest } from '../serving/support.ts';
import { httpCall } from './http-call.ts';
import { repoPath } from './paths.ts';

const HOLDOUT_ROWS = readFileSync(repoPath('models/iris/holdout.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').slice(0, 4).map(Number));

export interface IrisClients {
  /** Requests answered 200, and a line per request that was not. */
  outcomes: { ok: number; failed: string[] };
  stop(): Promise<void>;
}

/** Starts `count` request loops against `url` (`…/v2/models/<model>/infer`). */
export function startIrisClients(url: string, count: number, perClientPerS = 100): IrisClients {
  const outcomes = { ok: 0, failed: [] as string[] };
  const spacingMs = 1000 / perClientPerS;
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: count }, async () => {
    let next = performance.now();
    while (running) {
      // Closed loop with a floor on the spacing: a slow answer delays the next request, never
      // piles requests up behind it.
      next += spacingMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolveWait) => setTimeout(resolveWait, wait));
      else next = performance.now();
      const row = HOLDOUT_ROWS[sent++ % HOLDOUT_ROWS.length] ?? [5.1, 3.5, 1.4, 0.2];
      try {
        const response = await httpCall(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(irisRequest([row])),
        });
        if (response.status === 200) outcomes.ok += 1;
        else outcomes.failed.push(`${response.status} ${response.text.slice(0, 200)}`);
      } catch (error) {
        outcomes.failed.push(`no answer: ${(error as Error).message}`);
      }
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
