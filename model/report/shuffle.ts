/**
 * Seeded, reproducible shuffles for permutation importance: the same seed gives the same sample
 * and the same permutations on every machine and in every process (the parent plans the sample,
 * the isolated child shuffles), so a report can be measured again and compared.
 *
 * The generator is counter-based: the i-th number of stream `key` is a 32-bit avalanche mix of
 * the key and i, so streams for (seed, feature, repeat) are independent without any state to
 * carry between them. Statistical quality far beyond what shuffling a few thousand rows needs.
 */

/** The avalanche step of a 32-bit hash finaliser: every input bit flips each output bit about half the time. */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key of one stream, from small integers (seed, feature, repeat, …). */
export function streamKey(...parts: readonly number[]): number {
  let key = 0x9e3779b9;
  for (const part of parts) key = mix32(key ^ mix32(part + 0x632be5ab));
  return key;
}

/** A generator of numbers in [0, 1) for one stream. */
export function uniforms(key: number): () => number {
  let counter = 0;
  return () => {
    counter += 1;
    return mix32(key ^ Math.imul(counter, 0x9e3779b9)) / 2 ** 32;
  };
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
export function permutation(n: number, key: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  const next = uniforms(key);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  return order;
}

/**
 * `count` distinct row indices of `rows`, in random order, so that any prefix is itself a random
 * sample (the child may use fewer rows than planned when time is short). All rows, shuffled, when
 * `count` is at least `rows`.
 */
export function sampleRows(rows: number, count: number, key: number): Int32Array {
  return permutation(rows, key).slice(0, Math.min(rows, Math.max(0, count)));
}
