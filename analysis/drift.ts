/**
 * Anytime-valid drift tests for the monitor (`monitor-look.ts`): live rows per bin against the
 * reference profile's rows per bin, one look at a time, for days, with the chance of ever raising
 * a false alarm held at `alpha`. The floor test for live accuracy and data quality is beside it
 * (`drift-floor.ts`, re-exported here); the betting arithmetic is in `drift-bets.ts`.
 *
 * What is tested. H0: the reference rows and the live rows are independent draws from one
 * distribution p over the bins. p is unknown: the reference is a sample (45 to a few thousand
 * holdout rows), not the truth, and a test that took its shares as the truth would reject every
 * healthy model once live rows outnumber reference rows by enough to see the reference's own
 * sampling error. So each test works in two parts, with alpha split evenly between them:
 *
 * 1. The reference bounds the truth. For a handful of scores g over the bins (each bin's
 *    indicator; when the bins are ordered, the bin's position, which moves with the location of
 *    the feature, and its distance from the middle, which moves with its spread), a confidence
 *    bound from the reference rows says where the mean of g under p can lie: an upper bound for
 *    the "above" test, a lower one for the "below" test, each at level alpha / 2 / (number of
 *    bounds), by betting on the reference rows (`meanUpperBound`). With probability at least
 *    1 − alpha / 2 every bound holds.
 * 2. Live rows are bet against the bounds. Given the bounds hold, a bet that the live mean of g
 *    is above its upper bound (or below its lower one) is a nonnegative supermartingale for every
 *    p the reference allows. Each look starts a new bettor (a change detector, not one test from
 *    the first row: a drift that begins after weeks of quiet traffic is judged on the rows since
 *    it began, not diluted by the weeks before), weighted by a prior on when a change starts that
 *    sums to one over all time. The e-value is the average over the tests of these mixtures; by
 *    Ville's inequality it ever reaches 2 / alpha with probability at most alpha / 2.
 *
 * Guarantee: if the reference rows and every live row are independent draws from one distribution
 * over the bins (and the number of live rows per look does not depend on their values), the chance
 * that `drifted` ever turns true is at most alpha, over the whole life of the test, however often
 * it looks. Quantile bins cut on the holdout itself (`model/profile.ts`) fix the reference counts
 * by construction; the bins' true shares then vary like the spacings of order statistics, which is
 * the multinomial's sampling error to within one row per bin (the duality behind Clopper–Pearson
 * intervals). For such bins the guarantee rests on that correspondence and on simulation (the unit
 * tests and `npm run bench:drift` cut the bins on the reference sample itself), not on a proof.
 * Rows that depend on each other (sessions, bursts of one client) break the guarantee, as they
 * break any test that counts rows.
 *
 * What it costs: a reference of R rows can only pin the truth down so far, and the bounds are
 * wide enough to hold for every score at once, so a shift smaller than the reference's own
 * uncertainty is never found, however much live traffic comes (with 500 rows, a quarter of a
 * standard deviation is at that edge; see bench/README.md). The state is one number per score,
 * side and stake (`BET_FRACTIONS`) plus counts per bin: bounded whatever the number of looks,
 * about 5 KB of JSON for 10 bins; a look takes about 40 µs for 10 bins.
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

export type { FloorLook, FloorState, FloorTestOptions } from './drift-floor.ts';
export { observeFloor, startFloorTest } from './drift-floor.ts';

export interface DriftTestOptions {
  /** The chance of ever raising a false alarm, over the test's whole life. */
  alpha: number;
  /**
   * Whether the bins are in order (quantile bins of a numeric feature): then the location and the
   * spread of the bin index are tested too, which finds a shift of the feature's mean with a
   * fraction of the rows the bins alone need. Still valid for categories, whose codes rarely have
   * a meaningful order: pass false there to leave the whole alpha to the bins. Default true.
   */
  ordered?: boolean;
}

/** One score, one side: the bets against the reference's bound of its mean. */
interface ScoreTest {
  /** `bin:<k>`, `location` or `spread`. */
  score: string;
  /** `above`: live mean above the reference's upper bound; `below`: under its lower bound. */
  side: 'above' | 'below';
  /** The bound, on the side's own scale: for `below` the bound of 1 − score. */
  nullMean: number;
  /** log wealth per stake of `BET_FRACTIONS`, every start so far folded in. */
  logWealth: number[];
}

/** Everything a drift test remembers between looks; plain JSON, bounded in size. */
export type DriftState = {
  kind: 'drift';
  version: 1;
  alpha: number;
  ordered: boolean;
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
  /** Drifted when eValue >= threshold: 2 / alpha (half of alpha goes to the reference's bounds). */
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
  const names = scoreNames(bins, ordered);
  const bounds = names.length * 2;
  const delta = options.alpha / 2 / bounds;
  const tests: ScoreTest[] = [];
  for (const score of names) {
    for (const side of ['above', 'below'] as const) {
      const nullMean = meanUpperBound(scoresOf(score, bins, side), reference, delta);
      // A bound of 1 can never be beaten (no score exceeds it): the test is left out, which only
      // gives the others a larger share of the average (the bounds are taken as given here).
      if (nullMean >= 1) continue;
      tests.push({ score, side, nullMean, logWealth: BET_FRACTIONS.map(() => LOG_ZERO) });
    }
  }
  return {
    kind: 'drift',
    version: 1,
    alpha: options.alpha,
    ordered,
    reference: [...reference],
    tests,
    looks: 0,
    rows: 0,
    counts: new Array<number>(bins).fill(0),
    recent: new Array<number>(bins).fill(0),
    drifted: false,
  };
}

/** One test after a look: every start so far, and the look's own, bet on the look's counts. */
function advanceTest(
  test: ScoreTest,
  counts: readonly number[],
  rows: number,
  logWeight: number,
  scores: readonly number[] | undefined,
): ScoreTest {
  const bin = scores === undefined ? Number(test.score.slice(4)) : -1;
  const hits = bin < 0 ? 0 : test.side === 'above' ? (counts[bin] ?? 0) : rows - (counts[bin] ?? 0);
  const logWealth = new Array<number>(BET_FRACTIONS.length);
  for (let i = 0; i < BET_FRACTIONS.length; i += 1) {
    const c = BET_FRACTIONS[i] ?? 0;
    const logGrowth =
      scores === undefined
        ? logBetGrowthBinary(hits, rows, test.nullMean, c)
        : logBetGrowth(scores, counts, test.nullMean, c);
    logWealth[i] = advance(test.logWealth[i] ?? LOG_ZERO, logWeight, logGrowth);
  }
  return { ...test, logWealth };
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
  if (rows > 0) {
    const logWeight = logStartWeight(state.rows, state.rows + rows);
    const ordinal = new Map<string, number[]>();
    tests = state.tests.map((test) => {
      if (test.score.startsWith('bin:')) return advanceTest(test, counts, rows, logWeight, undefined);
      const key = `${test.score} ${test.side}`;
      const scores = ordinal.get(key) ?? scoresOf(test.score, bins, test.side);
      ordinal.set(key, scores);
      return advanceTest(test, counts, rows, logWeight, scores);
    });
    const decay = Math.exp(-rows / RECENT_ROWS);
    recent = state.recent.map((value, bin) => value * decay + (counts[bin] ?? 0));
  }
  const mixtures = tests.map((test) => logMixture(test.logWealth));
  // The equal-weight average over the tests of each one's mixture over stakes.
  const log = tests.length === 0 ? LOG_ZERO : logSumExp(mixtures) - Math.log(tests.length);
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
