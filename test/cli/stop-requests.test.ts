/**
 * What `modelship dev` stops on: SIGINT, SIGTERM and SIGHUP sent to its node process each become
 * a stop request named by the signal, the wait in progress gives way at once (`Stopped`), and
 * the process is not killed by the signal but goes on to its cleanup and exits 0. One process
 * receives the three signals in turn, each with a fresh watcher, as `dev` has one per run. The
 * whole stack stopping on such a request, during start-up and when running, is `test/e2e/dev.test.ts`.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { STOP_SIGNALS } from '../../cli/stop-requests.ts';
import { REPO_ROOT, repoPath } from '../support/paths.ts';

/** A process watching for stop requests, once per signal; one JSON line per event on stdout. */
const CHILD = `
import { Stopped, watchStopRequests } from ${JSON.stringify(repoPath('cli/stop-requests.ts'))};
const say = (event) => process.stdout.write(JSON.stringify(event) + '\\n');
// What keeps dev running meanwhile (its servers); a signal listener alone does not.
const busy = setInterval(() => {}, 60_000);
for (const expected of ${JSON.stringify(STOP_SIGNALS)}) {
  const stop = watchStopRequests();
  const waiting = stop.untilStopped(new Promise(() => {})).catch((error) => error);
  say({ ready: expected });
  const reason = await stop.requested();
  const error = await waiting;
  say({ reason, aborted: stop.signal.aborted, stopped: error instanceof Stopped, message: error.message });
  stop.dispose();
}
clearInterval(busy);
say({ cleanedUp: true });
`;

describe('stop requests (modelship dev)', () => {
  it('SIGINT, SIGTERM and SIGHUP to the process each request a stop named by the signal; it exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: Record<string, unknown>[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        events.push(event);
        if (typeof event.ready === 'string') child.kill(event.ready as NodeJS.Signals);
      }
    });
    const exited = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      child.on('close', (code, signal) => resolveExit({ code, signal })),
    );

    expect(exited, stderr).toEqual({ code: 0, signal: null });
    expect(events).toEqual([
      ...STOP_SIGNALS.flatMap((signal) => [
        { ready: signal },
        { reason: signal, aborted: true, stopped: true, message: signal },
      ]),
      { cleanedUp: true },
    ]);
  }, 30_000);
});
