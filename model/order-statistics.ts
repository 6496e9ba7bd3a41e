/**
 * Exact order statistics of a column without sorting it: the reference profile needs about twenty
 * ranks per column (quantile cut points and a few quantiles), and sorting 50 columns of 100k rows
 * takes close to half a second on its own, while a quickselect over random data is slowed by its
 * unpredictable branches nearly as much.
 *
 * Instead: one pass counts the values into equal-width buckets between min and max, which tells
 * which bucket each wanted rank falls in; a second pass gathers only the values of those buckets,
 * and only they are sorted. The bucket of a value is a monotone function of it, so everything in a
 * lower bucket is smaller: ranks and "how many values are below x" come out exact. A skewed
 * column (one far outlier, the rest in a heap) piles into few buckets and costs at worst one sort.
 */

const MAX_BUCKETS = 4096;

/** Answers about the ranks it was built for. */
export interface OrderStatistics {
  /** The value a full ascending sort would put at `rank` (one of the ranks asked for). */
  at(rank: number): number;
  /** How many values are strictly below `value`, which must be one returned by `at`. */
  below(value: number): number;
}

/**
 * Prepares the order statistics of `values` at `ranks`. `values` holds no NaN and is not
 * modified; `min` and `max` are its extremes, already known to the caller.
 */
export function orderStatistics(
  values: Float64Array,
  ranks: readonly number[],
  min: number,
  max: number,
): OrderStatistics {
  const n = values.length;
  const buckets = Math.max(1, Math.min(MAX_BUCKETS, n));
  // Halves, so that the spread of values near ±Number.MAX_VALUE stays finite. No spread (or one
  // too small to divide by) puts everything in bucket 0: slower, still exact.
  const half = min * 0.5;
  const raw = buckets / (max * 0.5 - half);
  const scale = Number.isFinite(raw) ? raw : 0;
  const bucketOfValue = (value: number) => Math.min(buckets - 1, Math.floor((value * 0.5 - half) * scale));
  const bucketOf = new Uint16Array(n);
  const sizes = new Int32Array(buckets);
  for (let i = 0; i < n; i += 1) {
    const bucket = bucketOfValue(values[i] as number);
    bucketOf[i] = bucket;
    sizes[bucket] = (sizes[bucket] as number) + 1;
  }
  const starts = new Int32Array(buckets + 1);
  for (let b = 0; b < buckets; b += 1) starts[b + 1] = (starts[b] as number) + (sizes[b] as number);

  // Gather the buckets that hold a wanted rank into one array, bucket after bucket.
  const gatheredAt = new Int32Array(buckets).fill(-1);
  let gathered = 0;
  for (const rank of ranks) {
    if (!Number.isInteger(rank) || rank < 0 || rank >= n) throw new RangeError(`rank ${rank} of ${n}`);
    const bucket = bucketOfRank(starts, rank);
    if (gatheredAt[bucket] === -1) {
      gatheredAt[bucket] = gathered;
      gathered += sizes[bucket] as number;
    }
  }
  const pool = new Float64Array(gathered);
  const cursor = gatheredAt.slice();
  for (let i = 0; i < n; i += 1) {
    const bucket = bucketOf[i] as number;
    const at = cursor[bucket] as number;
    if (at !== -1) {
      pool[at] = values[i] as number;
      cursor[bucket] = at + 1;
    }
  }
  for (let b = 0; b < buckets; b += 1) {
    const at = gatheredAt[b] as number;
    if (at !== -1) pool.subarray(at, at + (sizes[b] as number)).sort();
  }

  return {
    at(rank) {
      const bucket = bucketOfRank(starts, rank);
      const at = gatheredAt[bucket] as number;
      if (at === -1) throw new RangeError(`rank ${rank} was not asked for`);
      return pool[at + rank - (starts[bucket] as number)] as number;
    },
    below(value) {
      const bucket = bucketOfValue(value);
      const at = gatheredAt[bucket] as number;
      if (at === -1) throw new RangeError(`${value} is not a value at a rank asked for`);
      let low = at;
      let high = at + (sizes[bucket] as number);
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((pool[mid] as number) < value) low = mid + 1;
        else high = mid;
      }
      return (starts[bucket] as number) + low - at;
    },
  };
}

/** The bucket holding the value of ascending rank `rank`: the last b with starts[b] <= rank. */
function bucketOfRank(starts: Int32Array, rank: number): number {
  let low = 0;
  let high = starts.length - 2;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if ((starts[mid] as number) <= rank) low = mid;
    else high = mid - 1;
  }
  return low;
}
