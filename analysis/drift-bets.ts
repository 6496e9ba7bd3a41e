/**
 * The arithmetic under the monitor's tests (`drift.ts`, `drift-floor.ts`): betting on the mean of
 * a score in [0, 1], computed from counts per bin, the start-time weights that turn a test
 * into a change detector, and the log rising factorials of the urn (`drift-urn.ts`). Pure
 * numbers, in log space; no I/O.
 *
 * A bet. Against H0 "the mean of score g is at most m0", a row with score g multiplies the
 * bettor's wealth by 1 + λ (g − m0), for a stake λ in [0, 1/m0): never negative, and of
 * expectation at most 1 under H0, for ANY distribution of g in [0, 1] with that mean, Bernoulli or
 * not. Written with the fraction c = λ m0 of the most a row can lose, the factor is
 * (1 − c) + c g / m0. For a 0/1 score this is exactly the likelihood ratio of Bernoulli(m0 + c (1 − m0))
 * against Bernoulli(m0); for a finer score it adapts to the score's variance, which a Bernoulli
 * bound (`proportionBounds` in `beta-binomial.ts`) would take as its largest, m0 (1 − m0).
 * Rows in a look arrive as counts per bin, and the product over them depends only on the counts.
 *
 * A fixed stake grid, `BET_FRACTIONS`, mixed with equal weights: a mixture of wealth processes is
 * one, and it loses at most log(grid size) nats against the best stake of the grid in hindsight.
 *
 * Start weights. A wealth process that starts late (at 1 before its start, then betting) is still
 * a nonnegative supermartingale under H0, and so is any mixture of them whose weights sum to at
 * most 1 (Shiryaev–Roberts with a prior on the start). Each look starts one process for each
 * stake, weighted by the share of the start prior its rows cover; with fixed stakes the sum over
 * all starts folds into one number per stake (`advance`), so the state stays bounded however long
 * the monitor runs. The prior on the start, in live rows N, is G(N) = 1 − 1 / log(e + N / h):
 * about as heavy on the first rows as on any later stretch of equal length ratio, so evidence from
 * a drift that begins after a month of quiet traffic costs a few more nats than one that begins at
 * once, not a month's worth of diluted counts.
 */

/** Stakes, as fractions of the most a row may lose; about 2× apart, from a 0.5 % share to 90 %. */
export const BET_FRACTIONS: readonly number[] = [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 0.9];
const LOG_GRID = Math.log(BET_FRACTIONS.length);

/**
 * log 0, as a finite number so that states stay JSON (JSON has no −Infinity). Wealth is never
 * kept below it: a process worth e^−1000 can never matter against a threshold near e^5, and the
 * state stays short.
 */
export const LOG_ZERO = -1000;

/** Rows the start prior G spreads its first mass over (see the module comment). */
export const START_SCALE_ROWS = 1000;

/** log(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a <= LOG_ZERO) return b;
  if (b <= LOG_ZERO) return a;
  const high = Math.max(a, b);
  return high + Math.log1p(Math.exp(Math.min(a, b) - high));
}

/** log Σ e^x over the values. */
export function logSumExp(values: readonly number[]): number {
  let high = LOG_ZERO;
  for (const value of values) if (value > high) high = value;
  if (high <= LOG_ZERO) return LOG_ZERO;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - high);
  return high + Math.log(sum);
}

/** Smallest null mean used: a bound of exactly 0 would make one row with a positive score infinite evidence. */
const MIN_NULL_MEAN = 1e-300;

/**
 * log wealth of one stake over a look, against H0 "mean score ≤ m0": Σ_k counts_k log((1 − c) + c g_k / m0).
 * `scores[k]` is the score of bin k, in [0, 1].
 */
export function logBetGrowth(
  scores: readonly number[],
  counts: readonly number[],
  nullMean: number,
  fraction: number,
): number {
  const m0 = Math.max(nullMean, MIN_NULL_MEAN);
  let log = 0;
  for (let k = 0; k < counts.length; k += 1) {
    const count = counts[k] ?? 0;
    if (count === 0) continue;
    log += count * Math.log(1 - fraction + (fraction * (scores[k] ?? 0)) / m0);
  }
  return log;
}

/** The same for a 0/1 score, from the number of rows scoring 1 (`hits`) of `rows`: two logs, not one per bin. */
export function logBetGrowthBinary(hits: number, rows: number, nullMean: number, fraction: number): number {
  const m0 = Math.max(nullMean, MIN_NULL_MEAN);
  const misses = rows - hits;
  return (
    (hits > 0 ? hits * Math.log(1 - fraction + fraction / m0) : 0) +
    (misses > 0 ? misses * Math.log(1 - fraction) : 0)
  );
}

/** log of the equal-weight mixture over the stake grid of wealths given in log. */
export function logMixture(logWealth: readonly number[]): number {
  return logSumExp(logWealth) - LOG_GRID;
}

/**
 * An upper confidence bound, at level 1 − delta, for the mean of a score over a fixed sample (the
 * reference rows): the largest m0 that the bets against "mean ≥ m0" do not reject. Valid for any
 * distribution on [0, 1] (Markov's inequality on the mixture wealth); 1 when the sample is empty.
 * The wealth rises with m0, so bisection finds the bound.
 */
export function meanUpperBound(scores: readonly number[], counts: readonly number[], delta: number): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return 1;
  const complement = scores.map((score) => 1 - score);
  const threshold = Math.log(1 / delta);
  const rejects = (m0: number) =>
    logMixture(BET_FRACTIONS.map((c) => logBetGrowth(complement, counts, 1 - m0, c))) >= threshold;
  let mean = 0;
  counts.forEach((count, k) => {
    mean += count * (scores[k] ?? 0);
  });
  mean /= total;
  let low = Math.min(1, mean);
  let high = 1;
  if (!rejects(high - 1e-15)) return 1;
  for (let i = 0; i < 52; i += 1) {
    const mid = (low + high) / 2;
    if (rejects(mid)) high = mid;
    else low = mid;
  }
  return high;
}

/** G(N), the prior probability that the change starts within the first N live rows. */
export function startPrior(rows: number): number {
  return 1 - 1 / Math.log(Math.E + rows / START_SCALE_ROWS);
}

/** log of the start prior's mass on the rows from `before` (exclusive) to `after` (inclusive). */
export function logStartWeight(before: number, after: number): number {
  if (after <= before) return LOG_ZERO;
  // G(b) − G(a) = (log(e + b/h) − log(e + a/h)) / (log(e + a/h) log(e + b/h)), the numerator as a log1p.
  const logA = Math.log(Math.E + before / START_SCALE_ROWS);
  const logB = Math.log(Math.E + after / START_SCALE_ROWS);
  const gap = Math.log1p((after - before) / START_SCALE_ROWS / (Math.E + before / START_SCALE_ROWS));
  if (!(gap > 0)) return LOG_ZERO;
  return Math.log(gap) - Math.log(logA) - Math.log(logB);
}

/**
 * One look of the Shiryaev–Roberts mixture for one stake: the processes started before the look
 * and the one started at it (weight `logWeight`) all bet on the look's rows (`logGrowth`).
 * Rounded down to a millionth of a nat, which keeps the state short and can only lower the
 * evidence.
 */
export function advance(logWealth: number, logWeight: number, logGrowth: number): number {
  const next = logAddExp(logWealth, logWeight) + logGrowth;
  return next <= LOG_ZERO ? LOG_ZERO : Math.floor(next * 1e6) / 1e6;
}

/** Stirling's correction terms of log Γ(z), accurate to about 1e-12 for z ≥ 10 (the next term is 1 / (1188 z⁹)). */
function stirlingCorrection(z: number): number {
  const inv = 1 / z;
  const inv2 = inv * inv;
  return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)));
}

/**
 * log Γ(a + x) − log Γ(a) = log a (a + 1) … (a + x − 1), for a > 0 and a whole x ≥ 0: the log
 * probability arithmetic of a Pólya urn. Taken as one difference, not two log-gammas, because
 * the urn's weights reach billions and each log Γ there is ~1e10: subtracting two of them would
 * leave only the first few digits of a difference of a few hundred.
 */
export function logRising(a: number, x: number): number {
  let log = 0;
  // A few factors: their logs directly.
  if (x <= 8) {
    for (let i = 0; i < x; i += 1) log += Math.log(a + i);
    return log;
  }
  // Raise a small a into the range where Stirling's series holds, one factor at a time.
  let low = a;
  let left = x;
  while (low < 10 && left > 0) {
    log += Math.log(low);
    low += 1;
    left -= 1;
  }
  if (left === 0) return log;
  const high = low + left;
  // (high − ½) ln high − (low − ½) ln low − left, rearranged so no two large terms cancel.
  return (
    log +
    (low - 0.5) * Math.log1p(left / low) +
    left * Math.log(high) -
    left +
    stirlingCorrection(high) -
    stirlingCorrection(low)
  );
}
