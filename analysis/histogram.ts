/**
 * Quantiles from a Prometheus-style latency histogram: cumulative bucket counts with upper bounds
 * (`le`, seconds) plus a total that also counts the implicit `+Inf` bucket.
 *
 * A histogram keeps counts, not samples, so a quantile is an estimate: we find the bucket that
 * holds the wanted rank and interpolate linearly inside it, assuming the requests in that bucket
 * are spread evenly between its bounds (the same estimate as PromQL's `histogram_quantile`). The
 * error is at most the bucket's width; the data plane's buckets grow by ×2 to ×2.5, so read a
 * p99 as "within that factor", never as a measurement to the microsecond.
 */

/** One cumulative bucket: requests that took at most `le` seconds. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** Where the wanted rank fell; `above` means the `+Inf` bucket, so the value is only a lower bound. */
interface QuantileEstimate {
  /** Seconds. */
  seconds: number;
  /** Upper bound of the bucket the rank fell in (seconds); `Infinity` in the overflow bucket. */
  bucketUpper: number;
  above: boolean;
}

/**
 * The `q` quantile (0 < q ≤ 1) of a histogram, or `undefined` when it counted nothing.
 *
 * `total` includes the `+Inf` bucket. A rank beyond the last finite bound is reported as that
 * bound with `above: true`: the true value is at least that, and nothing more can be said.
 */
export function histogramQuantile(
  buckets: readonly Bucket[],
  total: number,
  q: number,
): QuantileEstimate | undefined {
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let countBelow = 0;
  for (const bucket of buckets) {
    // The first bucket reaching the rank; the one before it stayed below, so it is not empty.
    if (bucket.count >= rank) {
      const share = (rank - countBelow) / (bucket.count - countBelow);
      return { seconds: lower + (bucket.le - lower) * share, bucketUpper: bucket.le, above: false };
    }
    lower = bucket.le;
    countBelow = bucket.count;
  }
  return { seconds: lower, bucketUpper: Number.POSITIVE_INFINITY, above: true };
}

/** Whether two histograms share bucket bounds, so that their counts may be subtracted or added. */
export function sameLayout(a: readonly Bucket[], b: readonly Bucket[]): boolean {
  return a.length === b.length && a.every((bucket, index) => bucket.le === b[index]?.le);
}
