/**
 * Everything the demo starts is registered here with how to stop it, and stopped in reverse
 * order on every way out: success, failure, Ctrl-C. Each stop has a time limit, so one stuck
 * process (a worker whose server is already gone) cannot keep the others running.
 */

interface Step {
  what: string;
  stop: () => Promise<void>;
}

export class Cleanup {
  private readonly steps: Step[] = [];
  private closed = false;

  /**
   * Registers how to stop something that was just started. After {@link stopAll} has begun (an
   * interrupted start finishing late), it is stopped at once instead of leaking.
   */
  add(what: string, stop: () => Promise<void>): void {
    if (this.closed) {
      void stop().catch(() => {});
      return;
    }
    this.steps.push({ what, stop: once(stop) });
  }

  /** Stops everything, newest first; failures are reported, and never stop the rest. */
  async stopAll(report: (what: string, error: Error) => void, timeoutMs = 15_000): Promise<void> {
    this.closed = true;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await withTimeout(step.stop(), timeoutMs, `stopping the ${step.what} took over ${timeoutMs} ms`);
      } catch (error) {
        report(step.what, error as Error);
      }
    }
  }
}

/** Wraps a stop function so that stopping early (to verify the audit log) and again at exit is safe. */
export function once(stop: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= stop();
    return running;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
