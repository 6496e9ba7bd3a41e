/**
 * Profiles the holdout into the reference profile a bundle carries (`domain/reference-profile.ts`):
 * what the model was shown to work on, binned the way the data plane bins live traffic.
 *
 * Rules, all deterministic (same holdout and predictions, same profile, byte for byte):
 * - A column is categorical when every value that is not missing is an integer and it has at most
 *   {@link MAX_CATEGORIES} distinct values (class ids, flags, small counts); a drift test over its
 *   own values says more than one over quantile ranges. A column with no values at all is a
 *   categorical column with no categories, so everything live lands in "other" or "missing".
 * - Any other column is numeric: cut points at the holdout's k/bins quantiles, so each bin holds
 *   about the same share of rows. Ties collapse cut points (they must rise strictly, and a cut at
 *   the minimum would only make an empty first bin), so a column with few distinct values gets
 *   fewer bins and a constant column one.
 * - At most {@link MAX_PROFILED_FEATURES} columns, the first ones, are profiled, and at most
 *   {@link MAX_BINS} bins per numeric column: the profile travels in workflow history and in the
 *   manifest, so its size is bounded whatever the model's width. Columns past the cap are not
 *   watched for drift.
 * - Class counts are keyed by the class as decimal text, in first-seen order, at most
 *   {@link MAX_CLASSES} of them (the most frequent).
 *
 * Together these bound the profile at about 60 KB of JSON (64 features of 20 bins and 256 classes
 * twice; more only with very long column names in the holdout's header); iris's is 1.5 KB, a
 * 30-feature model's 11 KB.
 */
import {
  type ClassCounts,
  type FeatureProfile,
  REFERENCE_PROFILE_SCHEMA_VERSION,
  type ReferenceProfile,
} from '../domain/reference-profile.ts';
import type { HoldoutData } from './holdout.ts';
import { orderStatistics } from './order-statistics.ts';

/** Numeric bins when the caller names none. */
export const DEFAULT_BINS = 10;
/** The most bins a numeric feature may have, whatever the caller asks. */
export const MAX_BINS = 20;
/** The most distinct integer values a column may have and still be categorical. */
export const MAX_CATEGORIES = 12;
/** The most features profiled; later columns are left out of the profile. */
export const MAX_PROFILED_FEATURES = 64;
/** The most classes counted, among predictions and among labels; the rarest go past it. */
export const MAX_CLASSES = 256;

/** Everything {@link profileHoldout} reads. */
export interface ProfileHoldoutInput {
  holdout: HoldoutData;
  /** The predicted class of every holdout row, in row order. */
  predictions: ArrayLike<number>;
  /** The model input the features are columns of. */
  inputName: string;
  holdoutPath: string;
  holdoutSha256: string;
  /** The holdout metrics validation measured; non-finite ones are left out. */
  metrics: Record<string, number>;
  /** Numeric bins, default {@link DEFAULT_BINS}, clamped to 1..{@link MAX_BINS}. */
  bins?: number;
}

/** Profiles the holdout and the model's predictions on it. Pure; throws only on misuse. */
export function profileHoldout(input: ProfileHoldoutInput): ReferenceProfile {
  const { holdout, predictions } = input;
  const width = holdout.featureNames.length;
  if (holdout.features.length !== holdout.rows * width) {
    throw new Error(`holdout has ${holdout.features.length} values, expected ${holdout.rows} × ${width}`);
  }
  if (predictions.length !== holdout.rows) {
    throw new Error(`${predictions.length} predictions for ${holdout.rows} holdout rows`);
  }
  const bins = Math.min(MAX_BINS, Math.max(1, Math.floor(input.bins ?? DEFAULT_BINS)));
  const column = new Float64Array(holdout.rows);
  const features: FeatureProfile[] = [];
  for (let c = 0; c < Math.min(width, MAX_PROFILED_FEATURES); c += 1) {
    let present = 0;
    for (let r = 0; r < holdout.rows; r += 1) {
      const value = holdout.features[r * width + c] as number;
      if (Number.isNaN(value)) continue;
      // parseHoldoutCsv refuses them; a profile with an infinite edge or mean would be refused too.
      if (!Number.isFinite(value)) throw new Error(`holdout row ${r}, column ${c}: ${value} is not finite`);
      column[present++] = value;
    }
    const values = column.subarray(0, present);
    const name = holdout.featureNames[c] as string;
    const missing = holdout.rows - present;
    features.push(
      categoricalProfile(name, c, values, missing) ?? numericProfile(name, c, values, missing, bins),
    );
  }
  const metrics: Record<string, number> = {};
  for (const key of Object.keys(input.metrics).sort()) {
    const value = input.metrics[key] as number;
    if (Number.isFinite(value)) metrics[key] = value;
  }
  return {
    schemaVersion: REFERENCE_PROFILE_SCHEMA_VERSION,
    holdout: { path: input.holdoutPath, sha256: input.holdoutSha256, rows: holdout.rows },
    input: input.inputName,
    features,
    predictions: classCounts(predictions),
    labels: classCounts(holdout.labels),
    metrics,
  };
}

/** The categorical profile of a column, or undefined when the column is not categorical. */
function categoricalProfile(
  name: string,
  column: number,
  values: Float64Array,
  missing: number,
): FeatureProfile | undefined {
  const seen = new Map<number, number>();
  for (const value of values) {
    if (!Number.isInteger(value)) return undefined;
    // A Map stores -0 as 0: one category, as binOf's === comparison sees them.
    seen.set(value, (seen.get(value) ?? 0) + 1);
    if (seen.size > MAX_CATEGORIES) return undefined;
  }
  const categories = [...seen.keys()].sort((a, b) => a - b);
  return {
    kind: 'categorical',
    name,
    column,
    categories,
    counts: [...categories.map((category) => seen.get(category) as number), 0],
    missing,
  };
}

function numericProfile(
  name: string,
  column: number,
  values: Float64Array,
  missing: number,
  bins: number,
): FeatureProfile {
  const n = values.length;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i += 1) {
    const value = values[i] as number;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  // Mean and spread of the values divided by the largest magnitude, then scaled back: a holdout
  // value near ±Number.MAX_VALUE must not turn a sum or a square infinite (the contract wants
  // finite numbers, and the package step would refuse the profile).
  const magnitude = Math.max(Math.abs(min), Math.abs(max)) || 1;
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += (values[i] as number) / magnitude;
  const scaledMean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i += 1) squares += ((values[i] as number) / magnitude - scaledMean) ** 2;
  const mean = scaledMean * magnitude;
  const std = Math.sqrt(squares / n) * magnitude;

  const edgeRanks = Array.from({ length: bins - 1 }, (_, i) => Math.floor(((i + 1) * n) / bins));
  const quantileRanks = QUANTILES.flatMap((q) => {
    const below = Math.floor((n - 1) * q);
    return [below, Math.min(below + 1, n - 1)];
  });
  const ranked = orderStatistics(values, [...edgeRanks, ...quantileRanks], min, max);
  const edges: number[] = [];
  for (const rank of edgeRanks) {
    const edge = ranked.at(rank);
    // Cut points rise strictly; one at the minimum would only open an empty first bin.
    if (edge > (edges.length > 0 ? (edges[edges.length - 1] as number) : min)) edges.push(edge);
  }
  // binOf puts a value equal to an edge in the bin above it: bin i holds the values from
  // edge i-1 (included) up to edge i (excluded).
  const counts: number[] = [];
  let below = 0;
  for (const edge of edges) {
    const next = ranked.below(edge);
    counts.push(next - below);
    below = next;
  }
  counts.push(n - below);
  const quantile = (q: number): number => {
    const position = (n - 1) * q;
    const low = ranked.at(Math.floor(position));
    const high = ranked.at(Math.min(Math.floor(position) + 1, n - 1));
    return low + (high - low) * (position - Math.floor(position));
  };
  return {
    kind: 'numeric',
    name,
    column,
    edges,
    counts,
    missing,
    min,
    max,
    mean,
    // Population standard deviation: the holdout is the reference, not a sample of one.
    std,
    quantiles: {
      p01: quantile(0.01),
      p25: quantile(0.25),
      p50: quantile(0.5),
      p75: quantile(0.75),
      p99: quantile(0.99),
    },
  };
}

/** The quantiles of the summary, which interpolate linearly between the two closest ranks. */
const QUANTILES = [0.01, 0.25, 0.5, 0.75, 0.99];

/**
 * Counts per class in first-seen order; past {@link MAX_CLASSES} classes only the most frequent
 * are kept (ties to the first seen), because the predictions come from the model under test and
 * a hostile one could name a new class on every row.
 */
function classCounts(values: ArrayLike<number>): ClassCounts {
  const index = new Map<number, number>();
  const seen: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i] as number;
    const at = index.get(value);
    if (at === undefined) {
      index.set(value, seen.length);
      seen.push(value);
      counts.push(1);
    } else {
      counts[at] = (counts[at] as number) + 1;
    }
  }
  let kept = seen.map((_, i) => i);
  if (kept.length > MAX_CLASSES) {
    kept = kept
      .sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b)
      .slice(0, MAX_CLASSES)
      .sort((a, b) => a - b);
  }
  return { classes: kept.map((i) => String(seen[i])), counts: kept.map((i) => counts[i] as number) };
}
