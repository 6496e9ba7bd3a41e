/**
 * A keyed in-process mutex: tasks with the same key run one after another, in call order. It
 * makes the read-modify-write updates of one process safe (a layout's `index.json`, a registry's
 * referrers tag); it does nothing across processes, which each caller documents.
 */

const tails = new Map<string, Promise<unknown>>();

/** Runs `task` once every earlier task of `key` has settled. */
export function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  // Forget the key once nothing is queued behind this task, so the map does not grow.
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}
