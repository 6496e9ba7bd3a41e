/**
 * A log-linear latency histogram (the HDR idea): values in integer nanoseconds, exact below
 * 256 ns, and above that 128 buckets per power of two, so any percentile is off by at most
 * 1/256 (0.4 %) of its value. Recording is an array increment, so the load generator can keep
 * one per version and one per progress interval without storing every sample, and a
 * percentile costs one pass over a few thousand counters however long the run.
 */

/** log2 of the number of exact values; sub-buckets per power of two are half of that. */
const PRECISION_BITS = 8;
const EXACT = 2 ** PRECISION_BITS;
const HALF = EXACT / 2;
/** Enough powers of two for 2^53 ns (104 days): every value a run can produce. */
const BUCKETS = EXACT + (53 - PRECISION_BITS + 1) * HALF;

/** Index of the highest set bit of a non-negative safe integer (`Math.clz32` covers only 32 bits). */
function highestBit(value: number): number {
  const high = Math.floor(value / 2 ** 32);
  return high > 0 ? 63 - Math.clz32(high) : 31 - Math.clz32(value);
}

function bucketOf(ns: number): number {
  if (ns < EXACT) return ns;
  const shift = highestBit(ns) - (PRECISION_BITS - 1);
  return shift * HALF + Math.floor(ns / 2 ** shift);
}

/** The smallest value that falls in `bucket`, and the bucket's width. */
function bucketRange(bucket: number): { low: number; width: number } {
  if (bucket < EXACT) return { low: bucket, width: 1 };
  const shift = Math.floor(bucket / HALF) - 1;
  const sub = bucket - shift * HALF;
  return { low: sub * 2 ** shift, width: 2 ** shift };
}

/** Latencies in nanoseconds; read back in nanoseconds too. */
export class LatencyHistogram {
  private counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  /** Records one latency; negative or non-finite values are clamped to 0 (a clock can step). */
  record(ns: number): void {
    const value = Number.isFinite(ns) && ns > 0 ? Math.min(Math.round(ns), Number.MAX_SAFE_INTEGER) : 0;
    const bucket = Math.min(bucketOf(value), BUCKETS - 1);
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.total += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Adds every sample of `other` to this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i += 1) {
      const n = other.counts[i] ?? 0;
      if (n > 0) this.counts[i] = (this.counts[i] ?? 0) + n;
    }
    this.total += other.total;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  get count(): number {
    return this.total;
  }

  /** Largest value recorded, exact (0 when empty). */
  get maxNs(): number {
    return this.max;
  }

  get meanNs(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /**
   * The nearest-rank percentile (`p` from 0 to 100): the smallest recorded value such that at
   * least p % of samples are at or below it, reported as the middle of its bucket and clamped
   * to the exact minimum and maximum (which the first and last ranks return as they are). 0 when
   * empty.
   */
  percentileNs(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * this.total));
    // The extremes are known exactly: no need to round them to a bucket.
    if (rank === this.total) return this.max;
    if (rank === 1) return this.min;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i += 1) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) {
        const { low, width } = bucketRange(i);
        const middle = width === 1 ? low : low + (width - 1) / 2;
        return Math.min(Math.max(middle, this.min), this.max);
      }
    }
    return this.max;
  }
}
