/**
 * The monitor's floor test: is a live rate of good rows (accuracy on labels fed back, rows that
 * keep the input constraints) below a floor? Anytime-valid and a change detector, like the drift
 * test (`drift.ts`): H0 "every row is good with probability at least `floor`", and the bets
 * against it (`drift-bets.ts`) start afresh at every look, weighted by a prior on when a decay
 * begins, so a model that was fine for a month and then decays is judged on the rows since, not
 * on the month's average. The chance that `belowFloor` ever turns true for a model that stays at
 * or above its floor is at most alpha, however often and however long it looks (Ville's
 * inequality); the floor is a number from the spec, so no alpha goes to estimating it.
 *
 * The interval in a look is a confidence sequence for the rate over all rows seen (Beta-mixture
 * bounds from `beta-binomial.ts`, each side at alpha / 2): valid at every look while the rate
 * stays the same. After a decay it averages the good rows with the bad; the recent rate says what
 * the rows since are like.
 */
import { proportionBounds } from './beta-binomial.ts';
import {
  advance,
  BET_FRACTIONS,
  LOG_ZERO,
  logBetGrowthBinary,
  logMixture,
  logStartWeight,
} from './drift-bets.ts';

export interface FloorTestOptions {
  /** The chance of ever raising a false alarm, over the test's whole life. */
  alpha: number;
}

/** Everything a floor test remembers between looks; plain JSON, bounded in size. */
export type FloorState = {
  kind: 'floor';
  version: 1;
  floor: number;
  alpha: number;
  /** log wealth per stake of `BET_FRACTIONS` of the bets on "rows are bad more often than 1 − floor". */
  logWealth: number[];
  looks: number;
  correct: number;
  total: number;
  /** Rows decayed by e^(−rows since / RECENT_ROWS), for the recent rate. */
  recentCorrect: number;
  recentTotal: number;
  /** Once true, stays true. */
  belowFloor: boolean;
};

export interface FloorLook {
  state: FloorState;
  /** Evidence against "the rate is at least the floor" (capped at 1e300). */
  eValue: number;
  log10EValue: number;
  /** 1 / alpha. */
  threshold: number;
  belowFloor: boolean;
  /** The rate over all rows seen; 0 before any. */
  estimate: number;
  /** A confidence sequence for the rate over all rows seen, level 1 − alpha; [0, 1] before any row. */
  interval: [number, number];
  /** Rows seen in all. */
  total: number;
  /** The rate over about the last RECENT_ROWS rows; 0 before any. */
  recentEstimate: number;
}

/** Rows the recent rate covers, about. */
const RECENT_ROWS = 2000;

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

/** A floor test of H0 "live rate ≥ floor". Throws on a floor outside [0, 1] or an alpha outside (0, 1). */
export function startFloorTest(floor: number, options: FloorTestOptions): FloorState {
  const where = 'startFloorTest';
  if (!(typeof floor === 'number' && floor >= 0 && floor <= 1)) {
    fail(where, `floor is ${floor}; it must be a number from 0 to 1`);
  }
  if (!(typeof options.alpha === 'number' && options.alpha > 0 && options.alpha < 1)) {
    fail(where, `alpha is ${options.alpha}; it must be a number above 0 and below 1`);
  }
  return {
    kind: 'floor',
    version: 1,
    floor,
    alpha: options.alpha,
    logWealth: BET_FRACTIONS.map(() => LOG_ZERO),
    looks: 0,
    correct: 0,
    total: 0,
    recentCorrect: 0,
    recentTotal: 0,
    belowFloor: false,
  };
}

/**
 * One look: `correct` good rows of `total` NEW rows since the previous look (integers,
 * 0 ≤ correct ≤ total; 0 of 0 is a look without rows). Never changes `state`.
 */
export function observeFloor(state: FloorState, correct: number, total: number): FloorLook {
  const where = 'observeFloor';
  if (!Number.isSafeInteger(total) || total < 0) {
    fail(where, `total is ${total}; it must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(correct) || correct < 0 || correct > total) {
    fail(where, `correct is ${correct}; it must be an integer from 0 to total (${total})`);
  }
  let logWealth = state.logWealth;
  let recentCorrect = state.recentCorrect;
  let recentTotal = state.recentTotal;
  if (total > 0) {
    const logWeight = logStartWeight(state.total, state.total + total);
    // Bad rows are the score; under H0 their rate is at most 1 − floor.
    const badRate = 1 - state.floor;
    logWealth = state.logWealth.map((log, i) =>
      advance(log, logWeight, logBetGrowthBinary(total - correct, total, badRate, BET_FRACTIONS[i] ?? 0)),
    );
    const decay = Math.exp(-total / RECENT_ROWS);
    recentCorrect = recentCorrect * decay + correct;
    recentTotal = recentTotal * decay + total;
  }
  const log = logMixture(logWealth);
  const threshold = 1 / state.alpha;
  const next: FloorState = {
    ...state,
    logWealth,
    looks: state.looks + 1,
    correct: state.correct + correct,
    total: state.total + total,
    recentCorrect,
    recentTotal,
    belowFloor: state.belowFloor || log >= Math.log(threshold),
  };
  const bounds =
    next.total > 0 ? proportionBounds(next.correct, next.total, state.alpha / 2) : { lower: 0, upper: 1 };
  return {
    state: next,
    eValue: Math.exp(Math.min(log, 690)),
    log10EValue: log / Math.LN10,
    threshold,
    belowFloor: next.belowFloor,
    estimate: next.total > 0 ? next.correct / next.total : 0,
    interval: [bounds.lower, bounds.upper],
    total: next.total,
    recentEstimate: recentTotal > 0 ? recentCorrect / recentTotal : 0,
  };
}
