/**
 * Anytime-valid drift tests for the monitor (`monitor-look.ts`): live rows per bin against the
 * reference profile's rows per bin, one look at a time, for days, with the chance of ever raising
 * a false alarm held at `alpha`. The floor test for live accuracy and data quality is beside it
 * (`drift-floor.ts`, re-exported here); the betting arithmetic is in `drift-bets.ts`, the exact
 * law of quantile bins in `drift-urn.ts`.
 *
 * What is tested. H0: the reference rows and the live rows are independent draws from one
 * distribution over the bins. That distribution is unknown: the reference is a sample (45 to a
 * few thousand holdout rows), not the truth, and a test that took its shares as the truth would
 * reject every healthy model once live rows outnumber reference rows by enough to see the
 * reference's own sampling error. Each test bets on the shares of bins or groups of bins, and
 * how it keeps the bets fair is chosen at the start, from the reference counts:
 *
 * - Urn, for the quantile bins of a continuous numeric feature (`ordered`, and counts that show
 *   the profile's cut, `isReferenceQuantileCut`). Each cut is a reference value at a rank fixed in
 *   advance, so the bins' true shares are spacings of uniform order statistics: Dirichlet with the
 *   reference counts (the first plus one), whatever the feature's distribution. Two parts:
 *   1. Bets against the urn (alpha / 2). Given the Dirichlet, the live bins follow a Pólya urn
 *      started from the reference counts; a bet against the urn's prediction for a look, given
 *      the reference and every earlier live row, has expectation exactly one. The urn learns
 *      from quiet live traffic, so after a day of it a shift is judged against tens of thousands
 *      of rows, not the holdout's hundreds. Groups: each bin (share rising), upper tails of bins
 *      (rising and falling: a sequential Kolmogorov–Smirnov test on the cuts, which a location
 *      shift moves most), the outer bins (rising and falling: spread).
 *   2. Bets against exact bounds (alpha / 4 + alpha / 4). A group's true share is Beta with its
 *      urn weight, so its 1 − delta quantile bounds it with probability 1 − delta exactly
 *      (`shareUpperBound`, delta = alpha / 4 / number of bounds, on the upper tails and outer
 *      bins). Given the bounds hold, bets that the live share is past its bound are fair, and
 *      unlike the urn's they keep growing with live rows, however the drift began: part 1 is
 *      held to what the reference alone can tell of a drift present from the first live row.
 *   The look's evidence is the larger of part 1's e-value and half of part 2's: by Ville's
 *   inequality and the union over the parts, it reaches 2 / alpha with chance at most
 *   alpha / 2 + alpha / 4 + alpha / 4.
 * - Bounds, for everything else: categories (whose codes have no order, and whose shares are not
 *   spacings), and numeric features with a value tied at a cut (the counts then miss the
 *   profile's ranks and the Dirichlet law does not hold). For a handful of scores over the bins
 *   (each bin's indicator; when ordered, the bin's position and its distance from the middle), a
 *   betting confidence bound from the reference rows (`meanUpperBound`, at alpha / 2 / number of
 *   bounds) says where the score's true mean can lie, and bets that the live mean is past it are
 *   fair given the bounds. Evidence: the average over the tests, against 2 / alpha.
 *
 * Either way each look starts a new bettor (a change detector, not one test from the first row: a
 * drift that begins after weeks of quiet traffic is judged on the rows since it began, not diluted
 * by the weeks before), weighted by a prior on when a change starts that sums to one over all
 * time, and each bettor mixes a grid of stakes; the average over a part's tests of these mixtures
 * is a nonnegative supermartingale under H0 (given the bounds, for bets against bounds).
 *
 * Guarantee: the number of live rows per look must not depend on their values, and rows must be
 * independent (sessions, bursts of one client break it, as they break any test that counts rows).
 * Then, for the urn, if the feature's distribution is continuous, the chance that `drifted` ever
 * turns true is at most alpha over the test's whole life, exactly: it rests on the order-statistic
 * argument in `drift-urn.ts` (checked by simulation through `model/profile.ts` in the unit tests),
 * not on approximations. A feature with repeated values that happen not to fall at a cut passes
 * the check too; then each cut's true share lies within one reference row of the urn's, and the
 * guarantee is approximate to that degree. For bounds, the guarantee is exact for bins not cut
 * from the reference itself (categories); for quantile bins with ties, the bounds take the
 * reference counts as a multinomial sample, right to within one row per bin, and rest on that
 * and on simulation.
 *
 * What it costs: a shift smaller than the reference's own uncertainty and present from the first
 * live row is never found, however much live traffic comes (with 500 rows, a quarter of a
 * standard deviation is near that edge); after quiet traffic the urn finds much smaller ones (see
 * bench/README.md). The state is one number per test and stake (`BET_FRACTIONS`) plus counts per
 * bin, bounded whatever the number of looks: 48 tests and about 8 KB of JSON for 10 quantile bins
 * (60 tests, 10 KB for 20), 24 tests and about 5 KB for 10 bounded bins; a look takes a few tens
 * of µs for 10 bins.
 */
import {
  advance,
  BET_FRACTIONS,
  LOG_ZERO,
  logBetGrowth,
  logBetGrowthBinary,
  logMixture,
  logStartWeight,
  logSumExp,
  meanUpperBound,
} from './drift-bets.ts';
import {
  boundedScores,
  groupBins,
  isReferenceQuantileCut,
  logUrnCorrection,
  shareUpperBound,
  urnScores,
  urnWeights,
} from './drift-urn.ts';

export type { FloorLook, FloorState, FloorTestOptions } from './drift-floor.ts';
export { observeFloor, startFloorTest } from './drift-floor.ts';

export interface DriftTestOptions {
  /** The chance of ever raising a false alarm, over the test's whole life. */
  alpha: number;
  /**
   * Whether the bins are the quantile bins of a numeric feature, cut at the reference's own values
   * as `model/profile.ts` cuts them. Then the test bets on upper tails of bins and on the outer
   * bins too, which finds a shift of the feature's location or spread with a fraction of the rows
   * single bins need; and when the counts show the profile's ranks (no value tied at a cut) it
   * bets against the exact law of live bins (the urn) instead of bounds. Pass false for
   * categories, whose codes rarely have a meaningful order: they get bounds on single bins. Default true.
   */
  ordered?: boolean;
  /**
   * Whether the urn may be used where the counts allow it (default true). False keeps the bounds
   * method everywhere: a monitor started before the urn existed replays with the test it began with.
   */
  exact?: boolean;
}

/** One score, one side: the bets against the urn's prediction of its mean, or against the reference's bound of it. */
interface ScoreTest {
  /** Urn: `bin:<k>`, `bins:<from>-<to>` or `tails` (a group of bins); bounds: `bin:<k>`, `location` or `spread`. */
  score: string;
  /** `above`: live mean above the prediction (or bound); `below`: under it. */
  side: 'above' | 'below';
  /**
   * A fixed bound to bet against, on the side's own scale (for `below` the bound of 1 − score):
   * every test of the bounds method has one, and so do the urn method's exactly bounded tests.
   * Absent: the test bets against the urn's prediction, which moves with every live row.
   */
  nullMean?: number;
  /** log wealth per stake of `BET_FRACTIONS`, every start so far folded in. */
  logWealth: number[];
}

/** Everything a drift test remembers between looks; plain JSON, bounded in size. */
export type DriftState = {
  kind: 'drift';
  version: 1;
  alpha: number;
  ordered: boolean;
  /**
   * `urn`: bets against the exact law of live bins given the reference and against exact bounds
   * from it (quantile bins of a continuous feature, `drift-urn.ts`); `bounds`: against betting
   * confidence bounds from the reference.
   * States saved before the urn existed have none and are `bounds`.
   */
  method?: 'urn' | 'bounds';
  /** The reference rows per bin. */
  reference: number[];
  tests: ScoreTest[];
  looks: number;
  /** Live rows seen, in all and per bin. */
  rows: number;
  counts: number[];
  /** Live rows per bin, each look's weight decaying by e^(−rows since / RECENT_ROWS): what the report shows. */
  recent: number[];
  /** Once true, stays true: the first crossing is the alarm the guarantee is about. */
  drifted: boolean;
};

export interface DriftLook {
  /** The state to pass to the next look. */
  state: DriftState;
  /** Evidence against "live comes from the reference distribution" (capped at 1e300). */
  eValue: number;
  /** log10 of the evidence, uncapped. */
  log10EValue: number;
  /**
   * Drifted when eValue >= threshold, 2 / alpha. Bounds: eValue is the average over the tests
   * (half of alpha goes to the bounds). Urn: the larger of the urn's e-value and half the e-value
   * of the bets against its exact bounds (a quarter of alpha goes to those bounds).
   */
  threshold: number;
  drifted: boolean;
  /** Live rows seen by the test so far. */
  rows: number;
  /** Shares per bin of the reference, and of the recent live rows (about the last RECENT_ROWS). */
  referenceShares: number[];
  liveShares: number[];
  /** Population stability index of the recent live rows against the reference, for people; not the decision. */
  psi: number;
  /** The bin whose own tests hold the most evidence (or, without evidence, the largest PSI term). */
  worstBin: number;
  /** The score and side with the most evidence, e.g. `location above` or `bin 3 below`. */
  leadingTest: string;
}

/** Rows the report's recent live shares cover, about: enough that a PSI's noise is small, few enough to show a new drift. */
export const RECENT_ROWS = 2000;

/** Shares below this count as this in a PSI, as is customary, so that an empty bin is not infinite. */
const PSI_FLOOR = 1e-4;

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

/** Throws unless `counts` is an array of `length` (when given) non-negative safe integers. */
function checkCounts(where: string, name: string, counts: readonly number[], length?: number): void {
  if (!Array.isArray(counts)) fail(where, `${name} must be an array of counts per bin`);
  if (length !== undefined && counts.length !== length) {
    fail(where, `${name} has ${counts.length} entries, expected ${length} (one per reference bin)`);
  }
  counts.forEach((count, bin) => {
    if (!Number.isSafeInteger(count) || count < 0) {
      fail(where, `${name}[${bin}] is ${count}; counts must be non-negative integers`);
    }
  });
}

function checkAlpha(where: string, alpha: number): void {
  if (!(typeof alpha === 'number' && alpha > 0 && alpha < 1)) {
    fail(where, `alpha is ${alpha}; it must be a number above 0 and below 1`);
  }
}

/** The scores a test bets on, per bin; `below` tests bet on 1 − score. */
function scoresOf(score: string, bins: number, side: 'above' | 'below'): number[] {
  const scores = new Array<number>(bins);
  for (let k = 0; k < bins; k += 1) {
    const raw =
      score === 'location'
        ? k / (bins - 1)
        : score === 'spread'
          ? Math.abs((2 * k) / (bins - 1) - 1)
          : `bin:${k}` === score
            ? 1
            : 0;
    scores[k] = side === 'above' ? raw : 1 - raw;
  }
  return scores;
}

/** The scores tested for `bins` bins; fixed by the number of bins alone, so that alpha's split is fixed in advance. */
function scoreNames(bins: number, ordered: boolean): string[] {
  const names = Array.from({ length: bins }, (_, k) => `bin:${k}`);
  if (ordered && bins >= 3) names.push('location', 'spread');
  return names;
}

/**
 * A drift test of live rows against `reference`, the reference rows per bin. Throws on counts
 * that are not non-negative integers, on no bins, and on an alpha outside (0, 1).
 */
export function startDriftTest(reference: readonly number[], options: DriftTestOptions): DriftState {
  const where = 'startDriftTest';
  checkCounts(where, 'reference', reference);
  if (reference.length === 0) fail(where, 'reference has no bins');
  checkAlpha(where, options.alpha);
  const ordered = options.ordered ?? true;
  const bins = reference.length;
  const fresh = () => BET_FRACTIONS.map(() => LOG_ZERO);
  // The exact null when the counts show the profile's quantile cut; bounds for everything else
  // (categories, and numeric features whose ties moved a cut).
  const method = ordered && options.exact !== false && isReferenceQuantileCut(reference) ? 'urn' : 'bounds';
  const tests: ScoreTest[] = [];
  if (method === 'urn') {
    for (const test of urnScores(bins)) tests.push({ ...test, logWealth: fresh() });
    // The exact bounds: each bounded group's share is Beta with its urn weight, so a bound at
    // alpha / 4 / (number of bounds) fails with that chance exactly, and all hold with 1 − alpha / 4.
    const bounded = boundedScores(bins);
    const weights = urnWeights(reference);
    const total = sum(weights);
    for (const { score, side } of bounded) {
      const inGroup = sum(groupBins(score, bins).map((bin) => weights[bin] ?? 0));
      const weight = side === 'above' ? inGroup : total - inGroup;
      const nullMean = shareUpperBound(weight, total, options.alpha / 4 / bounded.length);
      tests.push({ score, side, nullMean, logWealth: fresh() });
    }
  } else {
    const names = scoreNames(bins, ordered);
    const delta = options.alpha / 2 / (names.length * 2);
    for (const score of names) {
      for (const side of ['above', 'below'] as const) {
        const nullMean = meanUpperBound(scoresOf(score, bins, side), reference, delta);
        // A bound of 1 can never be beaten (no score exceeds it): the test is left out, which only
        // gives the others a larger share of the average (the bounds are taken as given here).
        if (nullMean >= 1) continue;
        tests.push({ score, side, nullMean, logWealth: fresh() });
      }
    }
  }
  return {
    kind: 'drift',
    version: 1,
    alpha: options.alpha,
    ordered,
    method,
    reference: [...reference],
    tests,
    looks: 0,
    rows: 0,
    counts: new Array<number>(bins).fill(0),
    recent: new Array<number>(bins).fill(0),
    drifted: false,
  };
}

/** One bounds test after a look: every start so far, and the look's own, bet on the look's counts. */
function advanceTest(
  test: ScoreTest,
  counts: readonly number[],
  rows: number,
  logWeight: number,
  scores: readonly number[] | undefined,
): ScoreTest {
  const bin = scores === undefined ? Number(test.score.slice(4)) : -1;
  const hits = bin < 0 ? 0 : test.side === 'above' ? (counts[bin] ?? 0) : rows - (counts[bin] ?? 0);
  const nullMean = test.nullMean ?? 1;
  const logWealth = new Array<number>(BET_FRACTIONS.length);
  for (let i = 0; i < BET_FRACTIONS.length; i += 1) {
    const c = BET_FRACTIONS[i] ?? 0;
    const logGrowth =
      scores === undefined
        ? logBetGrowthBinary(hits, rows, nullMean, c)
        : logBetGrowth(scores, counts, nullMean, c);
    logWealth[i] = advance(test.logWealth[i] ?? LOG_ZERO, logWeight, logGrowth);
  }
  return { ...test, logWealth };
}

/** The bounds tests after a look with rows. */
function advanceBounds(state: DriftState, counts: readonly number[], rows: number, logWeight: number) {
  const bins = state.reference.length;
  const ordinal = new Map<string, number[]>();
  return state.tests.map((test) => {
    if (test.score.startsWith('bin:')) return advanceTest(test, counts, rows, logWeight, undefined);
    const key = `${test.score} ${test.side}`;
    const scores = ordinal.get(key) ?? scoresOf(test.score, bins, test.side);
    ordinal.set(key, scores);
    return advanceTest(test, counts, rows, logWeight, scores);
  });
}

/**
 * The urn tests after a look with rows: each bets that the look's rows land in its group of bins
 * more (or less) often than the urn, filled with the reference and every earlier live row,
 * predicts; the bet is fair under the urn's law for the look's rows as a whole (`drift-urn.ts`).
 */
function advanceUrn(state: DriftState, counts: readonly number[], rows: number, logWeight: number) {
  const bins = state.reference.length;
  const weights = urnWeights(state.reference).map((weight, bin) => weight + (state.counts[bin] ?? 0));
  const total = sum(weights);
  // Both sides of a group, and the urn and bounded tests of one, share its sums: once per look.
  const sums = new Map<string, { inGroup: number; hits: number; correction: number }>();
  return state.tests.map((test) => {
    let group = sums.get(test.score);
    if (!group) {
      let inGroup = 0;
      let hits = 0;
      for (const bin of groupBins(test.score, bins)) {
        inGroup += weights[bin] ?? 0;
        hits += counts[bin] ?? 0;
      }
      group = { inGroup, hits, correction: logUrnCorrection(hits, rows, inGroup, total) };
      sums.set(test.score, group);
    }
    const above = test.side === 'above';
    const wins = above ? group.hits : rows - group.hits;
    // Against the urn: its prediction, and the correction that makes a whole look's bet fair.
    // Against a bound: the bound itself, as the bounds method bets.
    const bounded = test.nullMean !== undefined;
    const predicted = test.nullMean ?? (above ? group.inGroup : total - group.inGroup) / total;
    const correction = bounded ? 0 : group.correction;
    const logWealth = new Array<number>(BET_FRACTIONS.length);
    for (let i = 0; i < BET_FRACTIONS.length; i += 1) {
      const logGrowth = logBetGrowthBinary(wins, rows, predicted, BET_FRACTIONS[i] ?? 0) + correction;
      logWealth[i] = advance(test.logWealth[i] ?? LOG_ZERO, logWeight, logGrowth);
    }
    return { ...test, logWealth };
  });
}

/** log of the average of the mixtures of the tests picked, LOG_ZERO for none. */
function logAverage(mixtures: readonly number[], picked: (index: number) => boolean): number {
  const chosen = mixtures.filter((_, i) => picked(i));
  return chosen.length === 0 ? LOG_ZERO : logSumExp(chosen) - Math.log(chosen.length);
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const sharesOf = (counts: readonly number[]) => {
  const total = sum(counts);
  return counts.map((count) => (total > 0 ? count / total : 0));
};

/**
 * The population stability index Σ (live − ref) ln(live / ref) over bin shares, shares below
 * 1e-4 taken as 1e-4; 0 while either side has no rows. Takes counts (or decayed counts).
 */
export function populationStabilityIndex(reference: readonly number[], live: readonly number[]): number {
  if (sum(reference) === 0 || sum(live) === 0) return 0;
  const ref = sharesOf(reference);
  const now = sharesOf(live);
  let psi = 0;
  ref.forEach((share, bin) => {
    const a = Math.max(now[bin] ?? 0, PSI_FLOOR);
    const b = Math.max(share, PSI_FLOOR);
    psi += (a - b) * Math.log(a / b);
  });
  return psi;
}

/**
 * One look: `counts` are the NEW live rows per bin since the previous look (non-negative
 * integers, one per reference bin; all zero is a look without traffic). Returns the next state
 * and what the look shows. Never changes `state`.
 */
export function observeDrift(state: DriftState, counts: readonly number[]): DriftLook {
  const where = 'observeDrift';
  const bins = state.reference.length;
  checkCounts(where, 'counts', counts, bins);
  const rows = sum(counts);
  let tests = state.tests;
  let recent = state.recent;
  const urn = state.method === 'urn';
  if (rows > 0) {
    const logWeight = logStartWeight(state.rows, state.rows + rows);
    tests = urn ? advanceUrn(state, counts, rows, logWeight) : advanceBounds(state, counts, rows, logWeight);
    const decay = Math.exp(-rows / RECENT_ROWS);
    recent = state.recent.map((value, bin) => value * decay + (counts[bin] ?? 0));
  }
  const mixtures = tests.map((test) => logMixture(test.logWealth));
  // Each part's evidence is the equal-weight average over its tests of each one's mixture over
  // stakes. Bounds alone: alpha / 2 for the bounds, alpha / 2 for Ville, threshold 2 / alpha. The
  // urn: alpha / 2 for its own e-value (threshold 2 / alpha), alpha / 4 for the exact bounds and
  // alpha / 4 for the bets against them (threshold 4 / alpha); halving the bounded part's
  // evidence puts both against 2 / alpha, and an alarm is either crossing it.
  const bounded = (i: number) => tests[i]?.nullMean !== undefined;
  const log = urn
    ? Math.max(
        logAverage(mixtures, (i) => !bounded(i)),
        logAverage(mixtures, bounded) - Math.LN2,
      )
    : logAverage(mixtures, () => true);
  const threshold = 2 / state.alpha;
  const next: DriftState = {
    ...state,
    tests,
    looks: state.looks + 1,
    rows: state.rows + rows,
    counts: state.counts.map((count, bin) => count + (counts[bin] ?? 0)),
    recent,
    drifted: state.drifted || log >= Math.log(threshold),
  };
  const leading = mixtures.indexOf(Math.max(...mixtures));
  const leader = tests[leading];
  return {
    state: next,
    eValue: Math.exp(Math.min(log, 690)),
    log10EValue: log / Math.LN10,
    threshold,
    drifted: next.drifted,
    rows: next.rows,
    referenceShares: sharesOf(state.reference),
    liveShares: sharesOf(recent),
    psi: populationStabilityIndex(state.reference, recent),
    worstBin: worstBin(next, mixtures),
    leadingTest: leader ? `${leader.score.replace(':', ' ')} ${leader.side}` : 'none',
  };
}

function worstBin(state: DriftState, mixtures: readonly number[]): number {
  const evidence = new Array<number>(state.reference.length).fill(LOG_ZERO);
  state.tests.forEach((test, i) => {
    if (!test.score.startsWith('bin:')) return;
    const bin = Number(test.score.slice(4));
    evidence[bin] = Math.max(evidence[bin] ?? LOG_ZERO, mixtures[i] ?? LOG_ZERO);
  });
  const best = Math.max(...evidence);
  if (best > 0) return evidence.indexOf(best);
  // No bin has an e-value above 1: name the bin that moved most, by its PSI term.
  const ref = sharesOf(state.reference);
  const now = sharesOf(state.recent);
  let worst = 0;
  let largest = -1;
  ref.forEach((share, bin) => {
    const a = Math.max(now[bin] ?? 0, PSI_FLOOR);
    const b = Math.max(share, PSI_FLOOR);
    const term = (a - b) * Math.log(a / b);
    if (term > largest) {
      largest = term;
      worst = bin;
    }
  });
  return worst;
}
