/**
 * When a long-running command (`modelship dev`) must stop: on SIGINT, SIGTERM or SIGHUP, or when
 * its parent process goes away. Whatever sends it, the command then stops everything it started
 * (child processes included) and exits 0, rather than dying with its children left running.
 *
 * The parent watch is for `npm start`. npm forwards only SIGINT and SIGTERM to its script, so a
 * SIGHUP (a closed terminal, a process manager's reload) ends npm and nothing tells us; being
 * re-parented is how we notice. The listeners stay until `dispose`, so a second signal during the
 * stop does not kill the process with its default action halfway through the cleanup.
 */

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface StopRequests {
  /** Aborted once, with the reason (`SIGTERM`, `parent process exited`). */
  signal: AbortSignal;
  /** Rejects with {@link Stopped} as soon as a stop is requested, or settles as `promise` does. */
  untilStopped<T>(promise: Promise<T>): Promise<T>;
  /** Resolves with the reason of the stop request. */
  requested(): Promise<string>;
  dispose(): void;
}

/** Thrown by `untilStopped` when a stop was requested first. */
export class Stopped extends Error {
  override name = 'Stopped';
}

export function watchStopRequests(options: { parentPollMs?: number } = {}): StopRequests {
  const controller = new AbortController();
  const stop = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  for (const name of STOP_SIGNALS) process.on(name, stop);
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) stop('parent process exited');
  }, options.parentPollMs ?? 500);
  watch.unref();
  const signal = controller.signal;
  const requested = () =>
    new Promise<string>((resolveStop) => {
      if (signal.aborted) resolveStop(String(signal.reason));
      else signal.addEventListener('abort', () => resolveStop(String(signal.reason)), { once: true });
    });
  return {
    signal,
    requested,
    untilStopped: <T>(promise: Promise<T>) =>
      new Promise<T>((resolveRace, rejectRace) => {
        const onStop = () => rejectRace(new Stopped(String(signal.reason)));
        if (signal.aborted) return onStop();
        signal.addEventListener('abort', onStop, { once: true });
        const settled = () => signal.removeEventListener('abort', onStop);
        promise.then(
          (value) => {
            settled();
            resolveRace(value);
          },
          (error: unknown) => {
            settled();
            rejectRace(error);
          },
        );
      }),
    dispose() {
      clearInterval(watch);
      for (const name of STOP_SIGNALS) process.off(name, stop);
    },
  };
}
