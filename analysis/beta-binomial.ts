/**
 * The arithmetic of the sequential judge, in log space: log-gamma, log-beta, the regularized
 * incomplete beta function, one-sided Beta-mixture e-values for a binomial proportion with the
 * confidence bounds they imply, and a Dirichlet-mixture e-value for "two arms predict the same
 * class distribution". Pure numbers, no I/O.
 *
 * Anytime validity: each e-value below is (bounded by) a nonnegative supermartingale with initial
 * value 1 under its null, so by Ville's inequality P(sup_t E_t ≥ 1/α) ≤ α: it may be checked after
 * every observation and the step failed the first time it crosses 1/α.
 */

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log Γ(x) for x > 0: Stirling's series with five correction terms, which is accurate to about
 * 1e-14 for x ≥ 10; smaller x are shifted up with Γ(x) = Γ(x + n) / (x (x + 1) … (x + n − 1)).
 * (A Lanczos approximation would do as well; this one has no table of constants to mistype.)
 */
export function lgamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  let shift = 0;
  let product = 1;
  while (x < 10) {
    product *= x;
    x += 1;
    // Keep the product in range; a shift from tiny x takes at most ten steps.
    if (product > 1e280 || product < 1e-280) {
      shift += Math.log(product);
      product = 1;
    }
  }
  shift += Math.log(product);
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series - shift;
}

/** log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** The continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m += 1) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** log I_x(a, b), the log of the regularized incomplete beta function (the Beta(a, b) CDF at x). */
export function logIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return Number.NEGATIVE_INFINITY;
  if (x >= 1) return 0;
  const front = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) return front - Math.log(a) + Math.log(betaContinuedFraction(x, a, b));
  // The complement converges there; it is computed directly, so a tiny upper tail stays accurate
  // in `logIncompleteBetaUpper` and only this side pays for the subtraction.
  const upper = front - Math.log(b) + Math.log(betaContinuedFraction(1 - x, b, a));
  return Math.log1p(-Math.exp(upper));
}

/** log (1 − I_x(a, b)): the Beta(a, b) upper tail above x, accurate when tiny. */
function logIncompleteBetaUpper(x: number, a: number, b: number): number {
  return logIncompleteBeta(1 - x, b, a);
}

/**
 * The prior of the one-sided mixtures: Beta(c·p0, c·(1 − p0)) (mean p0, `concentration` c)
 * truncated to the alternative side of p0. Centred on the null, so it favours no effect size in
 * particular: c = 2 puts most of its mass within a factor of a few of p0 in odds, which catches a
 * ×5 regression in a handful of events while costing little for a ×2 one.
 */
export const DEFAULT_CONCENTRATION = 2;

/**
 * log E for H0: p ≤ p0 against p > p0, after `k` successes in `n` trials: the Beta mixture of the
 * binomial likelihood over p ≥ p0 divided by the likelihood at p0. The likelihood ratio for any
 * p ≥ p0 is a supermartingale under every p' ≤ p0, so the mixture is an e-process for the whole
 * composite null. 0 before any trial.
 */
export function logEValueAbove(
  k: number,
  n: number,
  p0: number,
  concentration = DEFAULT_CONCENTRATION,
): number {
  if (n <= 0) return 0;
  if (p0 <= 0) return k > 0 ? Number.POSITIVE_INFINITY : 0;
  if (p0 >= 1) return 0;
  const a = concentration * p0;
  const b = concentration * (1 - p0);
  const mixture =
    logBeta(a + k, b + n - k) -
    logBeta(a, b) +
    logIncompleteBetaUpper(p0, a + k, b + n - k) -
    logIncompleteBetaUpper(p0, a, b);
  const null0 = k * Math.log(p0) + (n - k) * Math.log1p(-p0);
  return mixture - null0;
}

/** log E for H0: p ≥ p0 against p < p0 (the mirror image of `logEValueAbove`). */
export function logEValueBelow(
  k: number,
  n: number,
  p0: number,
  concentration = DEFAULT_CONCENTRATION,
): number {
  return logEValueAbove(n - k, n, 1 - p0, concentration);
}

/**
 * One-sided anytime-valid bounds on p at level α each: `lower` = the smallest p0 the "above" test
 * does not reject, `upper` = the largest p0 the "below" test does not reject. Found by bisection
 * (the e-values fall monotonically as p0 moves towards the data). 0 and 1 when nothing is ruled out.
 */
export function proportionBounds(
  k: number,
  n: number,
  alpha: number,
  concentration = DEFAULT_CONCENTRATION,
): { lower: number; upper: number } {
  const threshold = Math.log(1 / alpha);
  const rejectsAbove = (p0: number) => logEValueAbove(k, n, p0, concentration) >= threshold;
  const rejectsBelow = (p0: number) => logEValueBelow(k, n, p0, concentration) >= threshold;
  const mid = n > 0 ? k / n : 0.5;
  // Lower bound: between 0 (rejected, if anything is) and the estimate (never rejected).
  let lower = 0;
  if (rejectsAbove(1e-12)) {
    let lo = 1e-12;
    let hi = Math.max(mid, 1e-12);
    for (let i = 0; i < 60; i += 1) {
      const m = (lo + hi) / 2;
      if (rejectsAbove(m)) lo = m;
      else hi = m;
    }
    lower = hi;
  }
  let upper = 1;
  if (rejectsBelow(1 - 1e-12)) {
    let lo = Math.min(mid, 1 - 1e-12);
    let hi = 1 - 1e-12;
    for (let i = 0; i < 60; i += 1) {
      const m = (lo + hi) / 2;
      if (rejectsBelow(m)) hi = m;
      else lo = m;
    }
    upper = lo;
  }
  return { lower, upper };
}

/**
 * log E for H0 "both arms draw classes from one distribution" (rows' classes independent of the
 * arm) against "each arm has its own", from the class counts of each arm. Sequential universal
 * inference (Wasserman, Ramdas & Balakrishnan 2020): the numerator is the Dirichlet(½, …, ½)
 * (Krichevsky–Trofimov) mixture likelihood of each arm separately, the denominator the null
 * likelihood at its maximum (pooled frequencies). The denominator is at least the likelihood of
 * the true null distribution, so E is below a test martingale and Ville's inequality holds.
 * Only counts are needed and the order of the rows does not matter.
 */
export function logEValueSameDistribution(
  candidate: Readonly<Record<string, number>>,
  stable: Readonly<Record<string, number>>,
  prior = 0.5,
): number {
  const classes = [...new Set([...Object.keys(candidate), ...Object.keys(stable)])];
  const k = classes.length;
  if (k < 2) return 0;
  const mixture = (counts: Readonly<Record<string, number>>) => {
    let total = 0;
    let log = 0;
    for (const label of classes) {
      const count = counts[label] ?? 0;
      total += count;
      log += lgamma(prior + count) - lgamma(prior);
    }
    return log + lgamma(k * prior) - lgamma(k * prior + total);
  };
  let pooledTotal = 0;
  for (const label of classes) pooledTotal += (candidate[label] ?? 0) + (stable[label] ?? 0);
  let maxNull = 0;
  for (const label of classes) {
    const count = (candidate[label] ?? 0) + (stable[label] ?? 0);
    if (count > 0) maxNull += count * Math.log(count / pooledTotal);
  }
  return mixture(candidate) + mixture(stable) - maxNull;
}
