/**
 * The exact null of the drift test for a numeric feature binned at its reference's own quantiles
 * (`model/profile.ts`): the law of the live bins when nothing has drifted, known exactly from the
 * reference counts, so that bets against it need no bound on what the true bin shares could be,
 * and the bounds the test does use are exact, not conservative. Used by `drift.ts`; pure numbers,
 * no I/O.
 *
 * Why it is exact. Take the reference as n independent draws from a continuous distribution F,
 * and let each cut be the reference value of a rank fixed in advance: the profile cuts at the
 * value with r = ⌊k n / bins⌋ reference values below it, the (r + 1)-th smallest. F turns
 * the reference into n independent uniforms, in the same order, so the true share of rows below
 * the cut is U_(r+1), a uniform order statistic, whatever F is. The bins' true shares are then
 * sums of consecutive spacings of n uniforms, and those are jointly Dirichlet: with parameter the
 * bin's reference count, plus one for the first bin (the row at a cut counts in the bin above it,
 * the first spacing in the bin below). Given the shares, live rows fall into the bins
 * independently; so given the reference counts, live rows follow a Pólya urn that starts with
 * those weights, where each row falls in a bin with probability its weight over the total and
 * then adds one to that weight. That is the law of live traffic under "nothing drifted",
 * exactly, for every continuous F, however many live rows come.
 *
 * What it tests. Group the bins (an upper tail of bins, one bin, the outer bins); the urn seen
 * through a group is an urn of two colours, and the rows of a look that land in the group follow
 * its beta-binomial law given everything before. A bet "this look's rows land in the group more
 * (or less) often than the urn predicts" is scored by the likelihood ratio of a binomial at a
 * tilted share against that beta-binomial: its expectation under the urn is exactly one, so the
 * bettor's wealth is a test martingale, and a mixture over start times and stakes is one too
 * (`drift-bets.ts`). Upper tails of quantile bins are a sequential Kolmogorov–Smirnov test on the
 * cuts: a shift of the feature's location moves all of them, by the most at the middle cut.
 *
 * What it learns. The urn's weights grow with the live rows, so quiet live traffic sharpens the
 * null: after a day of undrifted traffic the shares are known from tens of thousands of rows, not
 * from the holdout's few hundred, and a shift that begins then is judged against that. A drift
 * present from the first live row can only be told from the reference itself, and the urn's
 * evidence for it tops out, as the urn learns the drifted shares.
 *
 * Exact bounds. The same Dirichlet law gives each group's true share a Beta law, with the group's
 * urn weight and the rest (the aggregation property), so its quantiles are bounds that fail with
 * exactly their nominal chance, whatever the feature's continuous distribution: for an upper tail
 * from a cut with r reference rows below it, Beta(n − r, r + 1), as 1 − U_(r+1) is. Bets against a
 * fixed bound keep growing with the live rows, so `drift.ts` bets against these too, for the drift
 * the urn tops out on.
 *
 * When it applies. Only when the counts show the profile's cut (`isReferenceQuantileCut`): every
 * bin holds at least one reference row and exactly ⌊k n / bins⌋ lie below cut k. A value tied at a
 * cut leaves fewer below it and fails the check (`drift.ts` then falls back to betting bounds). Ties
 * elsewhere pass it; then a cut's true share lies between U_(r) and U_(r+1), within one reference
 * row of the urn's, and the law above is an approximation of that size, not exact.
 */
import { logIncompleteBeta } from './beta-binomial.ts';
import { logRising } from './drift-bets.ts';

/** Whether `reference` has the counts the profile's quantile cut gives a continuous feature; see the module comment. */
export function isReferenceQuantileCut(reference: readonly number[]): boolean {
  const bins = reference.length;
  if (bins < 2 || reference.some((count) => count < 1)) return false;
  const rows = reference.reduce((sum, count) => sum + count, 0);
  let below = 0;
  for (let k = 0; k < bins - 1; k += 1) {
    below += reference[k] ?? 0;
    if (below !== Math.floor(((k + 1) * rows) / bins)) return false;
  }
  return true;
}

/** The urn's starting weights: the reference counts, the first bin's plus one (the Dirichlet law of the bins' shares). */
export function urnWeights(reference: readonly number[]): number[] {
  return reference.map((count, bin) => (bin === 0 ? count + 1 : count));
}

/** A group's name: `bin:<k>` for one bin, `bins:<from>-<to>` for a run of them, `tails` for the outer ones. */
function runName(from: number, to: number): string {
  return from === to ? `bin:${from}` : `bins:${from}-${to}`;
}

/** Whether bin k is one of the outer bins: a quarter of the bins at each end, about. */
const isOuter = (bin: number, bins: number) => Math.min(bin, bins - 1 - bin) < bins / 4;

/** Groups already parsed, by bins and name: a look reads every test's group, and names repeat across features. */
const parsed = new Map<string, readonly number[]>();

/** The bins of a group named by `runName` or `tails`. */
export function groupBins(score: string, bins: number): readonly number[] {
  const key = `${bins} ${score}`;
  const known = parsed.get(key);
  if (known) return known;
  let group: number[];
  if (score === 'tails') {
    group = Array.from({ length: bins }, (_, k) => k).filter((k) => isOuter(k, bins));
  } else {
    const [from = 0, to = from] = score
      .slice(score.indexOf(':') + 1)
      .split('-')
      .map(Number);
    group = [];
    for (let k = from; k <= to && k < bins; k += 1) group.push(k);
  }
  // Bounded: at most a few dozen names per number of bins, and bins are at most a few dozen.
  if (parsed.size < 10_000) parsed.set(key, group);
  return group;
}

/**
 * The groups and sides the urn test bets on for `bins` quantile bins, fixed by the number of bins
 * alone (the average over them is fixed in advance): each bin's share rising (a spike), upper
 * tails' shares rising and falling (a shift; `tailCuts`), the outer bins' share rising and
 * falling (a change of spread). A group and side that is another's complement on the other side is the
 * same bet and is left out, as are the empty and the full group.
 */
export function urnScores(bins: number): { score: string; side: 'above' | 'below' }[] {
  const candidates: { score: string; side: 'above' | 'below' }[] = [];
  for (let k = 0; k < bins; k += 1) candidates.push({ score: runName(k, k), side: 'above' });
  for (const cut of tailCuts(bins)) {
    for (const side of ['above', 'below'] as const) candidates.push({ score: runName(cut, bins - 1), side });
  }
  for (const side of ['above', 'below'] as const) candidates.push({ score: 'tails', side });
  const seen = new Set<string>();
  return candidates.filter(({ score, side }) => {
    const members = new Set(groupBins(score, bins));
    if (members.size === 0 || members.size === bins) return false;
    // The key is the group whose share the bet says rises: a "below" bet is an "above" bet on the rest.
    const key = Array.from({ length: bins }, (_, k) => (members.has(k) === (side === 'above') ? 1 : 0)).join(
      '',
    );
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * log of (the binomial probability of a look's sequence at the urn's predicted share) over (its
 * probability under the urn), for `hits` of `rows` rows in a group whose urn weight is `inGroup`
 * of `total`. Added to a binary bet against the predicted share (`logBetGrowthBinary`), it turns
 * that bet into one against the urn's beta-binomial law, fair for a look of any size: the rows of
 * one look are drawn from the urn together, and the urn's own learning within the look is what
 * this term accounts for. 0 for a look of one row.
 */
export function logUrnCorrection(hits: number, rows: number, inGroup: number, total: number): number {
  const outGroup = total - inGroup;
  const misses = rows - hits;
  const binomial =
    (hits > 0 ? hits * Math.log(inGroup / total) : 0) +
    (misses > 0 ? misses * Math.log(outGroup / total) : 0);
  const urn = logRising(inGroup, hits) + logRising(outGroup, misses) - logRising(total, rows);
  return binomial - urn;
}

/**
 * The first bins of the upper tails tested: every cut up to 10 bins, else the nine nearest the
 * deciles. Neighbouring cuts of finer bins move together under a shift, and each test costs state
 * and a share of the average.
 */
function tailCuts(bins: number): number[] {
  const cuts = new Set<number>();
  for (let j = 1; j < Math.min(bins, 10); j += 1) cuts.add(bins <= 10 ? j : Math.round((j * bins) / 10));
  return [...cuts];
}

/** The groups whose shares are also bounded outright (`drift.ts`): the upper tails and the outer bins, both sides. */
export function boundedScores(bins: number): { score: string; side: 'above' | 'below' }[] {
  const scores: { score: string; side: 'above' | 'below' }[] = [];
  for (const cut of tailCuts(bins)) {
    for (const side of ['above', 'below'] as const) scores.push({ score: runName(cut, bins - 1), side });
  }
  const outer = groupBins('tails', bins).length;
  if (outer > 0 && outer < bins) {
    for (const side of ['above', 'below'] as const) scores.push({ score: 'tails', side });
  }
  return scores;
}

/**
 * The upper 1 − delta quantile of Beta(weight, total − weight): the exact law of the true share
 * of a group of bins whose urn weights sum to `weight` of `total` (the Dirichlet's aggregation
 * property; see the module comment), so the share exceeds it with probability delta exactly.
 * Bisection on the upper tail, which falls as the bound rises.
 */
export function shareUpperBound(weight: number, total: number, delta: number): number {
  const rest = total - weight;
  if (rest <= 0) return 1;
  const logDelta = Math.log(delta);
  // P(share > u) = I_{1−u}(rest, weight).
  const exceeds = (u: number) => logIncompleteBeta(1 - u, rest, weight) > logDelta;
  let low = weight / total;
  let high = 1;
  for (let i = 0; i < 60; i += 1) {
    const mid = (low + high) / 2;
    if (exceeds(mid)) low = mid;
    else high = mid;
  }
  return high;
}
