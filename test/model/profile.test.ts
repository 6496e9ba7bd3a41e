/** The reference profile of a holdout (`model/profile.ts`): bins, summaries, class counts, bounds. */
import { describe, expect, it } from 'vitest';
import {
  binOf,
  type CategoricalFeatureProfile,
  type FeatureProfile,
  type NumericFeatureProfile,
  parseReferenceProfile,
  type ReferenceProfile,
} from '../../domain/reference-profile.ts';
import type { HoldoutData } from '../../model/holdout.ts';
import {
  MAX_BINS,
  MAX_CATEGORIES,
  MAX_CLASSES,
  MAX_PROFILED_FEATURES,
  profileHoldout,
} from '../../model/profile.ts';
import { mulberry32 } from '../support/seeded-random.ts';

/** A holdout from columns of values; labels cycle 0, 1, 2 unless given. */
function holdoutOf(columns: Record<string, readonly number[]>, labels?: readonly number[]): HoldoutData {
  const names = Object.keys(columns);
  const rows = columns[names[0] as string]?.length ?? 0;
  const features = new Float64Array(rows * names.length);
  names.forEach((name, c) => {
    (columns[name] as readonly number[]).forEach((value, r) => {
      features[r * names.length + c] = value;
    });
  });
  return {
    featureNames: names,
    rows,
    features,
    labels: Int32Array.from(labels ?? Array.from({ length: rows }, (_, i) => i % 3)),
  };
}

function profile(holdout: HoldoutData, options: { predictions?: ArrayLike<number>; bins?: number } = {}) {
  return profileHoldout({
    holdout,
    predictions: options.predictions ?? holdout.labels,
    inputName: 'input',
    holdoutPath: 'data/holdout.csv',
    holdoutSha256: 'ab'.repeat(32),
    metrics: { accuracy: 0.93, f1Macro: 0.92 },
    ...(options.bins === undefined ? {} : { bins: options.bins }),
  });
}

function numeric(feature: FeatureProfile | undefined): NumericFeatureProfile {
  expect(feature?.kind).toBe('numeric');
  return feature as NumericFeatureProfile;
}

function categorical(feature: FeatureProfile | undefined): CategoricalFeatureProfile {
  expect(feature?.kind).toBe('categorical');
  return feature as CategoricalFeatureProfile;
}

/** Every value of column `c` re-binned with the contract's binOf: counts and missing. */
function rebinned(holdout: HoldoutData, feature: FeatureProfile) {
  const width = holdout.featureNames.length;
  const counts = new Array<number>(feature.counts.length).fill(0);
  let missing = 0;
  for (let r = 0; r < holdout.rows; r += 1) {
    const bin = binOf(feature, holdout.features[r * width + feature.column] as number);
    if (bin === -1) missing += 1;
    else counts[bin] = (counts[bin] as number) + 1;
  }
  return { counts, missing };
}

const random = mulberry32(14);
const shuffled = (values: number[]) => {
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as number, copy[i] as number];
  }
  return copy;
};
function range(n: number): number[];
function range<T>(n: number, f: (i: number) => T): T[];
function range(n: number, f: (i: number) => unknown = (i) => i): unknown[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

describe('profileHoldout: numeric features', () => {
  it('cuts at the deciles so every bin holds the same share of rows', () => {
    // 0.5, 1.5, ... 999.5 in random order: non-integers, so numeric whatever their number.
    const values = shuffled(range(1000, (i) => i + 0.5));
    const feature = numeric(profile(holdoutOf({ x: values })).features[0]);
    expect(feature.edges).toEqual([100.5, 200.5, 300.5, 400.5, 500.5, 600.5, 700.5, 800.5, 900.5]);
    expect(feature.counts).toEqual(range(10, () => 100));
    expect(feature.missing).toBe(0);
  });

  it('keeps every bin within one row of an equal share when rows do not divide evenly', () => {
    const values = range(1003, () => random() * 50 - 10);
    const feature = numeric(profile(holdoutOf({ x: values }), { bins: 7 }).features[0]);
    expect(feature.counts).toHaveLength(7);
    for (const count of feature.counts) expect(Math.abs(count - 1003 / 7)).toBeLessThanOrEqual(1);
  });

  it('summarises with min, max, mean, population std and interpolated quantiles', () => {
    const values = shuffled(range(101, (i) => i + 0.25)); // 0.25 .. 100.25
    const feature = numeric(profile(holdoutOf({ x: values })).features[0]);
    expect(feature.min).toBe(0.25);
    expect(feature.max).toBe(100.25);
    expect(feature.mean).toBeCloseTo(50.25, 12);
    expect(feature.std).toBeCloseTo(Math.sqrt((101 * 101 - 1) / 12), 10);
    expect(feature.quantiles).toEqual({ p01: 1.25, p25: 25.25, p50: 50.25, p75: 75.25, p99: 99.25 });
  });

  it('collapses tied cut points: strictly rising edges, no empty bin at the bottom', () => {
    // 80% of the rows are 0.5, the rest spread above it.
    const values = shuffled([...range(800, () => 0.5), ...range(200, (i) => 1 + i / 10)]);
    const feature = numeric(profile(holdoutOf({ x: values })).features[0]);
    expect(feature.edges).toEqual([1, 11]);
    expect(feature.counts).toEqual([800, 100, 100]);
    expect(feature.edges.every((edge, i) => i === 0 || edge > (feature.edges[i - 1] as number))).toBe(true);
  });

  it('gives a column with few distinct values fewer bins', () => {
    const values = shuffled(range(300, (i) => [0.1, 0.2, 0.3][i % 3] as number));
    const feature = numeric(profile(holdoutOf({ x: values })).features[0]);
    expect(feature.edges).toEqual([0.2, 0.3]);
    expect(feature.counts).toEqual([100, 100, 100]);
  });

  it('gives a constant column one bin and a zero spread', () => {
    const feature = numeric(profile(holdoutOf({ x: range(50, () => 2.5) })).features[0]);
    expect(feature).toMatchObject({ edges: [], counts: [50], min: 2.5, max: 2.5, mean: 2.5, std: 0 });
    expect(feature.quantiles).toEqual({ p01: 2.5, p25: 2.5, p50: 2.5, p75: 2.5, p99: 2.5 });
  });

  it('takes the bins asked for, never more than MAX_BINS', () => {
    const values = range(2000, (i) => i + 0.5);
    expect(numeric(profile(holdoutOf({ x: values }), { bins: 4 }).features[0]).edges).toEqual([
      500.5, 1000.5, 1500.5,
    ]);
    expect(numeric(profile(holdoutOf({ x: values }), { bins: 500 }).features[0]).counts).toHaveLength(
      MAX_BINS,
    );
  });

  it('counts NaN as missing and leaves it out of bins and summaries', () => {
    const values = [...range(90, (i) => i + 0.5), ...range(10, () => Number.NaN)];
    const feature = numeric(profile(holdoutOf({ x: shuffled(values) })).features[0]);
    expect(feature.missing).toBe(10);
    expect(feature.counts.reduce((a, b) => a + b, 0)).toBe(90);
    expect(feature).toMatchObject({ min: 0.5, max: 89.5, mean: 45 });
  });
});

describe('profileHoldout: categorical features', () => {
  it('treats an integer column with at most MAX_CATEGORIES values as categories, ascending, "other" last', () => {
    const values = shuffled([...range(30, () => 7), ...range(20, () => -1), ...range(10, () => 3)]);
    const feature = categorical(profile(holdoutOf({ x: values })).features[0]);
    expect(feature.categories).toEqual([-1, 3, 7]);
    expect(feature.counts).toEqual([20, 10, 30, 0]);
  });

  it('draws the line at MAX_CATEGORIES distinct integers, and at the first fraction', () => {
    const atLimit = range(120, (i) => i % MAX_CATEGORIES);
    const overLimit = range(120, (i) => i % (MAX_CATEGORIES + 1));
    const oneFraction = [...range(119, (i) => i % 3), 1.5];
    const [a, b, c] = profile(holdoutOf({ atLimit, overLimit, oneFraction })).features;
    expect(categorical(a).categories).toHaveLength(MAX_CATEGORIES);
    expect(numeric(b).edges.length).toBeGreaterThan(0);
    expect(numeric(c).edges).toEqual([1, 2]);
  });

  it('counts 0 and -0 as one category, as binOf sees them', () => {
    const feature = categorical(profile(holdoutOf({ x: [-0, 0, 1, -0] })).features[0]);
    expect(feature.categories).toEqual([0, 1]);
    expect(Object.is(feature.categories[0], 0), 'the category is +0').toBe(true);
    expect(feature.counts).toEqual([3, 1, 0]);
  });

  it('makes a column with no value at all a categorical one with everything missing', () => {
    const feature = categorical(profile(holdoutOf({ x: range(5, () => Number.NaN) })).features[0]);
    expect(feature).toMatchObject({ categories: [], counts: [0], missing: 5 });
  });
});

describe('profileHoldout: the whole profile', () => {
  it('counts predicted and true classes as text, in first-seen order', () => {
    const holdout = holdoutOf({ x: range(6, (i) => i + 0.5) }, [2, 0, 2, 1, 2, 0]);
    const result = profile(holdout, { predictions: [2, 2, 2, 1, 0, 10] });
    expect(result.labels).toEqual({ classes: ['2', '0', '1'], counts: [3, 2, 1] });
    expect(result.predictions).toEqual({ classes: ['2', '1', '0', '10'], counts: [3, 1, 1, 1] });
  });

  it(`keeps the ${MAX_CLASSES} most frequent classes of a model that names too many, in first-seen order`, () => {
    const rows = 3000;
    // Class 7 first and often; then a new class on every other row.
    const predictions = range(rows, (i) => (i % 2 === 0 ? 7 : 1000 + i));
    predictions[rows - 1] = 5; // as rare as the others but seen last: dropped on the tie
    const result = profile(holdoutOf({ x: range(rows, (i) => i + 0.5) }), { predictions });
    expect(result.predictions.classes).toHaveLength(MAX_CLASSES);
    expect(result.predictions.classes[0]).toBe('7');
    expect(result.predictions.counts[0]).toBe(rows / 2);
    expect(result.predictions.classes.slice(1, 3)).toEqual(['1001', '1003']);
    expect(result.predictions.classes).not.toContain('5');
    expect(result.labels.classes).toEqual(['0', '1', '2']);
  });

  it('records the holdout, the input and the finite metrics', () => {
    const holdout = holdoutOf({ x: [1.5, 2.5] });
    const result = profileHoldout({
      holdout,
      predictions: [0, 1],
      inputName: 'features',
      holdoutPath: 'data/h.csv',
      holdoutSha256: 'cd'.repeat(32),
      metrics: { f1Macro: 0.5, accuracy: 0.5, broken: Number.NaN },
    });
    expect(result).toMatchObject({
      schemaVersion: 1,
      holdout: { path: 'data/h.csv', sha256: 'cd'.repeat(32), rows: 2 },
      input: 'features',
      metrics: { accuracy: 0.5, f1Macro: 0.5 },
    });
    expect(Object.keys(result.metrics)).toEqual(['accuracy', 'f1Macro']);
  });

  it('bins every holdout row, re-binned with binOf, into exactly the recorded counts', () => {
    const rows = 5000;
    const holdout = holdoutOf({
      normal: range(rows, () => (random() + random() + random() - 1.5) * 4),
      skewed: range(rows, () => Math.exp(random() * 12)),
      heavyTies: range(rows, () => Math.round(random() * 4) / 2),
      outlier: range(rows, (i) => (i === 17 ? 1e12 : random())),
      withGaps: range(rows, (i) => (i % 9 === 0 ? Number.NaN : random() * 3 - 1)),
      category: range(rows, () => Math.floor(random() * 5) * 10),
      tiny: range(rows, () => random() * 1e-300),
      huge: range(rows, () => (random() - 0.5) * 1e308 * 3),
    });
    const result = profile(holdout);
    expect(parseReferenceProfile(result)).toEqual({ ok: true, profile: result });
    for (const feature of result.features) {
      expect(rebinned(holdout, feature), feature.name).toEqual({
        counts: feature.counts,
        missing: feature.missing,
      });
    }
    expect(result.features.map((f) => f.kind)).toEqual([
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'categorical',
      'numeric',
      'numeric',
    ]);
  });

  it('is deterministic, and the bins do not depend on row order', () => {
    const columns = { a: range(777, () => random() * 10), b: range(777, () => Math.floor(random() * 4)) };
    const first = profile(holdoutOf(columns));
    expect(JSON.stringify(profile(holdoutOf(columns)))).toBe(JSON.stringify(first));
    const order = shuffled(range(777));
    const reordered = holdoutOf(
      Object.fromEntries(
        Object.entries(columns).map(([name, values]) => [name, order.map((i) => values[i] as number)]),
      ),
    );
    // Only the last bits of a sum may differ with the order of its terms.
    const bins = (result: ReferenceProfile) =>
      result.features.map((feature) =>
        feature.kind === 'numeric' ? { ...feature, mean: 0, std: 0 } : feature,
      );
    expect(bins(profile(reordered))).toEqual(bins(first));
  });

  it(`profiles at most ${MAX_PROFILED_FEATURES} features, the first ones`, () => {
    const columns = Object.fromEntries(range(80, (c) => [`f${c}`, range(40, (i) => i * c + 0.5)]));
    const result = profile(holdoutOf(columns));
    expect(result.features).toHaveLength(MAX_PROFILED_FEATURES);
    expect(result.features.at(-1)).toMatchObject({ name: `f${MAX_PROFILED_FEATURES - 1}`, column: 63 });
  });

  it('refuses predictions that do not match the rows, and infinite values', () => {
    expect(() => profile(holdoutOf({ x: [1.5, 2.5] }), { predictions: [0] })).toThrow(
      '1 predictions for 2 holdout rows',
    );
    expect(() => profile(holdoutOf({ x: [1.5, Number.POSITIVE_INFINITY] }))).toThrow(
      'holdout row 1, column 0: Infinity is not finite',
    );
  });

  it('profiles 100k rows × 50 features well under a second, in a bounded size', () => {
    const rows = 100_000;
    const width = 50;
    const features = new Float64Array(rows * width);
    for (let i = 0; i < features.length; i += 1) {
      features[i] = i % width < 5 ? Math.floor(random() * 4) : random() * 100 - 50;
    }
    const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * 3));
    const holdout: HoldoutData = { featureNames: range(width, (c) => `f${c}`), rows, features, labels };
    const started = performance.now();
    const result: ReferenceProfile = profile(holdout);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(result.features).toHaveLength(width);
    expect(JSON.stringify(result).length).toBeLessThan(40_000);
  });
});
