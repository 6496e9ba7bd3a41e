/**
 * One run of a piece of work per key, shared by every caller that asks while it runs: two
 * activities wanting the same commit wait on one fetch and one checkout. Each caller keeps its
 * own cancellation: a caller whose signal fires (or whose progress callback throws, which is how
 * a Temporal heartbeat reports cancellation) stops waiting at once, and the work itself is
 * stopped only when no caller is left waiting for it.
 */

/** Progress of shared work, passed to every caller still waiting. */
type Listener<P> = (progress: P) => void;

interface Entry<T, P> {
  promise: Promise<T>;
  controller: AbortController;
  listeners: Set<Listener<P>>;
}

export interface ShareOptions<P> {
  signal?: AbortSignal;
  onProgress?: (progress: P) => void;
}

export class SharedWork<T, P> {
  readonly #entries = new Map<string, Entry<T, P>>();

  /** The running work of `key`, or `work` started now. */
  run(
    key: string,
    work: (signal: AbortSignal, progress: (progress: P) => void) => Promise<T>,
    options: ShareOptions<P> = {},
  ): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let entry = this.#entries.get(key);
    if (!entry) {
      const controller = new AbortController();
      const listeners = new Set<Listener<P>>();
      const promise = work(controller.signal, (progress) => {
        for (const listener of [...listeners]) listener(progress);
      });
      const started: Entry<T, P> = { promise, controller, listeners };
      this.#entries.set(key, started);
      const forget = () => {
        if (this.#entries.get(key) === started) this.#entries.delete(key);
      };
      promise.then(forget, forget);
      entry = started;
    }
    const shared = entry;
    return new Promise<T>((resolveCall, rejectCall) => {
      let waiting = true;
      const leave = (reason: unknown) => {
        if (!waiting) return;
        waiting = false;
        shared.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
        rejectCall(reason);
        if (shared.listeners.size === 0) {
          // Nobody waits any more: stop the work, and let a later caller start afresh.
          if (this.#entries.get(key) === shared) this.#entries.delete(key);
          shared.controller.abort(reason);
        }
      };
      const listener: Listener<P> = (progress) => {
        try {
          options.onProgress?.(progress);
        } catch (error) {
          leave(error);
        }
      };
      const onAbort = () => leave(signal?.reason);
      shared.listeners.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (value) => {
          if (!waiting) return;
          waiting = false;
          shared.listeners.delete(listener);
          signal?.removeEventListener('abort', onAbort);
          resolveCall(value);
        },
        (error: unknown) => {
          if (!waiting) return;
          waiting = false;
          shared.listeners.delete(listener);
          signal?.removeEventListener('abort', onAbort);
          rejectCall(error);
        },
      );
    });
  }
}
