/**
 * Permutation feature importance on the holdout, and how a candidate's importances moved against
 * the stable version's. Pure: the isolated child runs the model on the shuffled rows
 * (`model/permutation-run.ts`); the numbers are computed here from its predictions.
 *
 * For each input column (the first {@link MAX_IMPORTANCE_FEATURES}), its values are shuffled
 * across the sampled rows, the model predicts again, and the importance is how much accuracy
 * drops: baseline accuracy on those rows minus accuracy on the shuffled ones, its mean over the
 * repeats with the spread (population standard deviation, min and max). A column the model
 * ignores scores 0; a negative score is noise, shuffling by chance helped.
 *
 * Cost: the model predicts `features × repeats × rows` extra rows, batched as the holdout pass
 * is (30 features × 5 repeats × 171 rows = 25 650 for breast-cancer). Bounded by
 * `importance.maxRows` (a seeded sample), the feature cap, at most 20 repeats, and the time
 * budget: the child uses fewer rows when the holdout pass says the plan would take longer, and
 * stops between features once the budget is spent (the report says `complete: false`).
 */
import type { ImportanceSpec } from '../../specs/validation-schema.ts';
import { sampleRows, streamKey } from './shuffle.ts';

/** The most input columns measured; later columns are counted in `omittedFeatures`. */
export const MAX_IMPORTANCE_FEATURES = 64;
/** The fewest rows the child cuts a plan down to when time is short. */
export const MIN_IMPORTANCE_ROWS = 50;

/** What the isolated child is asked to run: which rows, how often, which columns. */
export interface PermutationPlan {
  /** Holdout rows to use, in random order (any prefix is a random sample). */
  rows: Int32Array;
  repeats: number;
  seed: number;
  /** Columns measured: the first `features` of the input. */
  features: number;
  /** Time the child may spend on the shuffled rows. */
  budgetMs: number;
}

/** What the child ran: predictions laid out `[feature][repeat][row]` over the first `rows` rows of the plan. */
export interface PermutationRun {
  rows: number;
  /** Columns finished (fewer than planned when the budget ran out). */
  features: number;
  predictions: Int32Array<ArrayBuffer>;
  elapsedMs: number;
}

export interface FeatureImportance {
  feature: string;
  /** Position of the column in the model's input. */
  column: number;
  /** Mean drop in accuracy over the repeats. */
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface ImportanceReport {
  method: 'permutation';
  metric: 'accuracy';
  /** Rows shuffled, and the rows planned before the time budget had its say. */
  rows: number;
  plannedRows: number;
  repeats: number;
  seed: number;
  /** Accuracy on those rows, unshuffled. */
  baseline: number;
  /** Most important first (ties in column order). */
  features: FeatureImportance[];
  /** Columns past {@link MAX_IMPORTANCE_FEATURES}, not measured. */
  omittedFeatures: number;
  /** False when the budget ran out before every planned column was measured. */
  complete: boolean;
  /** Rows the model predicted for this report (its cost). */
  modelRows: number;
  elapsedMs: number;
}

/** The plan for a holdout of `rows` rows and `width` input columns. */
export function planPermutation(rows: number, width: number, options: ImportanceSpec): PermutationPlan {
  return {
    rows: sampleRows(rows, options.maxRows, streamKey(options.seed, -1)),
    repeats: options.repeats,
    seed: options.seed,
    features: Math.min(width, MAX_IMPORTANCE_FEATURES),
    budgetMs: options.budgetMs,
  };
}

/** The stream that shuffles column `feature` in repeat `repeat` (the child and tests share it). */
export function shuffleKey(seed: number, feature: number, repeat: number): number {
  return streamKey(seed, feature, repeat);
}

/** Rows among the first `count` of `rows` whose label `guess` gets right. */
function correctOn(labels: ArrayLike<number>, rows: Int32Array, count: number, guess: (i: number) => number) {
  let correct = 0;
  for (let i = 0; i < count; i += 1) if (labels[rows[i] as number] === guess(i)) correct += 1;
  return correct;
}

/**
 * The importance report from the child's run; see the module comment. Drops are counted in rows
 * before they are divided, so features with the same effect tie exactly and rank by column.
 */
export function permutationImportance(input: {
  featureNames: readonly string[];
  labels: ArrayLike<number>;
  /** The model's predictions on the whole holdout, unshuffled. */
  predictions: ArrayLike<number>;
  plan: PermutationPlan;
  run: PermutationRun;
}): ImportanceReport {
  const { plan, run, labels, predictions, featureNames } = input;
  const n = run.rows;
  const { repeats } = plan;
  if (run.predictions.length !== run.features * repeats * n) {
    throw new Error(
      `${run.predictions.length} shuffled predictions for ${run.features} features × ${repeats} repeats × ${n} rows`,
    );
  }
  const baseline = correctOn(labels, plan.rows, n, (i) => predictions[plan.rows[i] as number] as number);
  const share = (rows: number) => (n === 0 ? 0 : rows / n);
  const features: FeatureImportance[] = [];
  for (let f = 0; f < run.features; f += 1) {
    const lost: number[] = [];
    for (let r = 0; r < repeats; r += 1) {
      const offset = (f * repeats + r) * n;
      lost.push(baseline - correctOn(labels, plan.rows, n, (i) => run.predictions[offset + i] as number));
    }
    const total = lost.reduce((sum, d) => sum + d, 0);
    const squares = lost.reduce((sum, d) => sum + (d * repeats - total) ** 2, 0);
    features.push({
      feature: featureNames[f] ?? `#${f}`,
      column: f,
      mean: share(total / repeats),
      std: share(Math.sqrt(squares) / (repeats * Math.sqrt(repeats))),
      min: share(Math.min(...lost)),
      max: share(Math.max(...lost)),
    });
  }
  return {
    method: 'permutation',
    metric: 'accuracy',
    rows: n,
    plannedRows: plan.rows.length,
    repeats,
    seed: plan.seed,
    baseline: share(baseline),
    features: rankFeatures(features),
    omittedFeatures: Math.max(0, featureNames.length - plan.features),
    complete: run.features === plan.features,
    modelRows: run.features * repeats * n,
    elapsedMs: run.elapsedMs,
  };
}

/** Most important first; ties keep column order, so the ranking is deterministic. */
function rankFeatures<T extends { mean: number; column: number }>(features: readonly T[]): T[] {
  return [...features].sort((a, b) => b.mean - a.mean || a.column - b.column);
}

/** How a candidate's most important features compare with the stable version's. */
export interface ImportanceShift {
  /** The k compared (at most the features both reports have). */
  k: number;
  topStable: string[];
  topCandidate: string[];
  /** Features in both top-k lists. */
  overlap: number;
  /** In the candidate's top-k, not in stable's; and the reverse. */
  entered: string[];
  left: string[];
  /** Features measured in both reports. */
  commonFeatures: number;
  /**
   * Kendall's tau-b between the two reports' mean importances over the common features: 1 the
   * same order, 0 unrelated, −1 reversed; null with fewer than two common features or when one
   * side ranks them all equal.
   */
  kendallTau: number | null;
}

/** What {@link importanceShift} reads of a report: any report of this shape, old or new. */
export interface RankedFeatures {
  features: readonly { feature: string; column: number; mean: number }[];
}

/**
 * Compares the top `k` features of two importance reports and the order of all their common
 * features. Reported beside the candidate's validation, never judged: a new model family may
 * rightly lean on other features, and a person should see it before approving.
 */
export function importanceShift(
  stable: RankedFeatures,
  candidate: RankedFeatures,
  k: number,
): ImportanceShift {
  const stableRanked = rankFeatures(stable.features);
  const candidateRanked = rankFeatures(candidate.features);
  const size = Math.max(0, Math.min(k, stableRanked.length, candidateRanked.length));
  const topStable = stableRanked.slice(0, size).map((f) => f.feature);
  const topCandidate = candidateRanked.slice(0, size).map((f) => f.feature);
  const inStable = new Set(topStable);
  const inCandidate = new Set(topCandidate);
  const stableMeans = new Map(stable.features.map((f) => [f.feature, f.mean]));
  const pairs = candidate.features.flatMap((f) => {
    const other = stableMeans.get(f.feature);
    return other === undefined ? [] : [[other, f.mean] as const];
  });
  return {
    k: size,
    topStable,
    topCandidate,
    overlap: topCandidate.filter((name) => inStable.has(name)).length,
    entered: topCandidate.filter((name) => !inStable.has(name)),
    left: topStable.filter((name) => !inCandidate.has(name)),
    commonFeatures: pairs.length,
    kendallTau: kendallTauB(
      pairs.map(([x]) => x),
      pairs.map(([, y]) => y),
    ),
  };
}

/** Kendall's tau-b (ties on either side accounted for); null when undefined. O(n²), n ≤ 64 here. */
export function kendallTauB(x: readonly number[], y: readonly number[]): number | null {
  const n = Math.min(x.length, y.length);
  if (n < 2) return null;
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < n; i += 1) {
    for (let j = i + 1; j < n; j += 1) {
      const dx = Math.sign((x[i] as number) - (x[j] as number));
      const dy = Math.sign((y[i] as number) - (y[j] as number));
      if (dx === 0) tiesX += 1;
      if (dy === 0) tiesY += 1;
      if (dx !== 0 && dy !== 0) {
        if (dx === dy) concordant += 1;
        else discordant += 1;
      }
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((pairs - tiesX) * (pairs - tiesY));
  return denominator === 0 ? null : (concordant - discordant) / denominator;
}
