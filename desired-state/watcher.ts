/**
 * The delivery half of `watch`, shared by both stores: whatever says "something may have
 * changed" (a NOTIFY, an fs.watch event, the safety-net poll) calls `trigger`, and this reads the
 * state and hands it on if it differs from the one delivered last. Reads never overlap and a
 * trigger during a read causes one more read after it, so every change is seen and callbacks come
 * in order; several quick changes may collapse into one call with the newest state, which is
 * what a converging replica wants (it applies the newest state, not every step on the way).
 */
import { canonicalJson } from '../domain/canonical-json.ts';
import type { WatchOptions } from './store.ts';
import type { DesiredState } from './types.ts';

/** One watch of one environment. */
export class StateWatch {
  private last: string | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private poll: NodeJS.Timeout | undefined;
  private readonly onError: (error: Error) => void;

  constructor(
    private readonly read: () => Promise<DesiredState>,
    private readonly onChange: (state: DesiredState) => void,
    options: WatchOptions,
    private readonly pollIntervalMs: number,
  ) {
    this.onError = options.onError ?? warnOnce();
  }

  /** Delivers the current state, then polls every `pollIntervalMs` as a safety net. */
  async start(): Promise<void> {
    this.trigger();
    await this.running;
    if (this.stopped) return;
    this.poll = setInterval(() => this.trigger(), this.pollIntervalMs);
    // A watch alone must not keep a process alive (a CLI that forgot to stop it still exits).
    this.poll.unref();
  }

  /** Something may have changed: read again (now, or right after the read in progress). */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.refresh().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    });
  }

  /** No callback runs after this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    while (this.running) await this.running;
  }

  private async refresh(): Promise<void> {
    let state: DesiredState;
    try {
      state = await this.read();
    } catch (error) {
      if (!this.stopped) this.fail(error);
      return;
    }
    const text = canonicalJson(state);
    if (this.stopped || text === this.last) return;
    this.last = text;
    try {
      this.onChange(state);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Tells the watcher's `onError` (a failed read, a dropped listener connection). */
  fail(error: unknown): void {
    if (this.stopped) return;
    this.onError(error instanceof Error ? error : new Error(String(error)));
  }
}

/** The default `onError`: a process warning, repeated only when the message changes. */
function warnOnce(): (error: Error) => void {
  let previous: string | undefined;
  return (error) => {
    if (error.message === previous) return;
    previous = error.message;
    process.emitWarning(`watching desired state: ${error.message}`);
  };
}
