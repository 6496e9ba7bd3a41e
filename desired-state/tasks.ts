/**
 * The bookkeeping both stores share: updates of one environment from this process queue behind
 * each other (so they wait on the lock once, in call order, holding one connection or polling
 * one lock directory, not many), and every operation is tracked so that `close` can wait for it.
 */
export class Tasks {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly running = new Set<Promise<unknown>>();

  /** Runs `task` once the tasks queued earlier under `key` have settled. */
  queue<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.queues.get(key) ?? Promise.resolve()).then(task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return result;
  }

  /** Tracks `task`'s promise until it settles. */
  track<T>(task: Promise<T>): Promise<T> {
    this.running.add(task);
    void task.finally(() => this.running.delete(task)).catch(() => undefined);
    return task;
  }

  /** Settles once everything queued or tracked so far has. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.queues.values(), ...this.running]);
  }
}
