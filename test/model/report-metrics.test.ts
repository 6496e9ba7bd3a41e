/**
 * The deeper validation report's numbers against small cases computed by hand (the arithmetic is
 * in the comments), so each metric is pinned to its definition rather than to its own output.
 */
import { describe, expect, it } from 'vitest';
import { parseHoldoutCsv } from '../../model/holdout.ts';
import { f1Macro } from '../../model/metrics.ts';
import { rowsWithinBudget } from '../../model/permutation-run.ts';
import { calibration } from '../../model/report/calibration.ts';
import { classReport } from '../../model/report/classes.ts';
import {
  importanceShift,
  kendallTauB,
  type PermutationPlan,
  permutationImportance,
} from '../../model/report/importance.ts';
import { permutation, sampleRows, streamKey } from '../../model/report/shuffle.ts';
import { sliceFailures, sliceReport } from '../../model/report/slices.ts';

describe('classReport', () => {
  // labels 0 0 1 1 2 2, predictions 0 1 1 1 2 0:
  // class 0: tp 1, fp 1 (row 6), fn 1 (row 2) → P 1/2, R 1/2, F1 2/4
  // class 1: tp 2, fp 1 (row 2), fn 0 → P 2/3, R 1, F1 4/5
  // class 2: tp 1, fp 0, fn 1 (row 6) → P 1, R 1/2, F1 2/3
  const labels = [0, 0, 1, 1, 2, 2];
  const predictions = [0, 1, 1, 1, 2, 0];

  it('gives precision, recall, F1, support and predictions per class', () => {
    const report = classReport(labels, predictions);
    expect(report.perClass).toEqual([
      { class: 0, precision: 0.5, recall: 0.5, f1: 0.5, support: 2, predicted: 2 },
      { class: 1, precision: 2 / 3, recall: 1, f1: 0.8, support: 2, predicted: 3 },
      { class: 2, precision: 1, recall: 0.5, f1: 2 / 3, support: 2, predicted: 1 },
    ]);
    expect(report.macro.precision).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 12);
    expect(report.macro.recall).toBeCloseTo((0.5 + 1 + 0.5) / 3, 12);
    // The same number the headline metric reports.
    expect(report.macro.f1).toBeCloseTo(f1Macro(labels, predictions), 12);
  });

  it('counts true classes in rows and predicted classes in columns', () => {
    expect(classReport(labels, predictions).confusion).toEqual({
      classes: [0, 1, 2],
      matrix: [
        [1, 1, 0],
        [0, 2, 0],
        [1, 0, 1],
      ],
      otherClasses: 0,
    });
  });

  it('scores a class that is predicted but never true at 0 recall and 0 F1, as scikit-learn does', () => {
    const report = classReport([0, 0], [0, 1]);
    expect(report.perClass[1]).toEqual({
      class: 1,
      precision: 0,
      recall: 0,
      f1: 0,
      support: 0,
      predicted: 1,
    });
  });

  it('lists the classes with the most support and sums the rest as "other"', () => {
    // Support: class 0 three rows, class 1 two, class 2 one: with two listed, class 2 is "other".
    const report = classReport([0, 0, 0, 1, 1, 2], [0, 0, 2, 1, 2, 2], 2);
    expect(report.perClass.map((m) => m.class)).toEqual([0, 1]);
    expect(report.confusion).toEqual({
      classes: [0, 1],
      matrix: [
        [2, 0, 1],
        [0, 1, 1],
        [0, 0, 1],
      ],
      otherClasses: 1,
    });
  });
});

describe('calibration', () => {
  // Two bins, (0, 0.5] and (0.5, 1]. Confidence is the probability of the predicted class:
  //   row 1 [0.9 0.1] label 0, predicted 0: 0.9, right      row 2 [0.2 0.8] label 0, predicted 1: 0.8, wrong
  //   row 3 [0.4 0.6] label 1, predicted 1: 0.6, right      row 4 [0.5 0.5] label 1, predicted 0: 0.5, wrong
  // Low bin: row 4, confidence 0.5, accuracy 0, gap 0.5. High bin: rows 1-3, confidence 2.3/3,
  // accuracy 2/3, gap 0.1. ECE = 1/4 × 0.5 + 3/4 × 0.1 = 0.2.
  // Brier: 0.01+0.01, 0.64+0.64, 0.16+0.16, 0.25+0.25 → 2.12 / 4 = 0.53.
  const input = {
    output: 'probabilities',
    labels: [0, 0, 1, 1],
    predictions: [0, 1, 1, 0],
    probabilities: [0.9, 0.1, 0.2, 0.8, 0.4, 0.6, 0.5, 0.5],
    columns: 2,
    bins: 2,
  };

  it('gives reliability bins, the expected calibration error and the Brier score', () => {
    const result = calibration(input);
    if (!('ece' in result)) throw new Error(result.skipped);
    expect(result.bins).toHaveLength(2);
    expect(result.bins[0]).toEqual({ lower: 0, upper: 0.5, rows: 1, meanConfidence: 0.5, accuracy: 0 });
    expect(result.bins[1]).toMatchObject({ lower: 0.5, upper: 1, rows: 3, accuracy: 2 / 3 });
    expect(result.bins[1]?.meanConfidence).toBeCloseTo(2.3 / 3, 12);
    expect(result.ece).toBeCloseTo(0.2, 12);
    expect(result.maxGap).toBeCloseTo(0.5, 12);
    expect(result.brier).toBeCloseTo(0.53, 12);
    expect(result).toMatchObject({ output: 'probabilities', rows: 4, binCount: 2 });
  });

  it('leaves empty bins out of the list', () => {
    const result = calibration({ ...input, bins: 10 });
    if (!('ece' in result)) throw new Error(result.skipped);
    // Confidences 0.9, 0.8, 0.6, 0.5 land in four different bins of ten.
    expect(result.bins.map((bin) => bin.rows)).toEqual([1, 1, 1, 1]);
    expect(result.binCount).toBe(10);
  });

  it('says why when a label has no probability column', () => {
    expect(calibration({ ...input, labels: [0, 0, 1, 2] })).toEqual({
      output: 'probabilities',
      skipped: 'row 4 has label 2, outside the 2 probability columns (classes 0..1)',
    });
    expect(calibration({ ...input, probabilities: [0.9, 0.1, Number.NaN, 0.8, 0.4, 0.6, 0.5, 0.5] })).toEqual(
      {
        output: 'probabilities',
        skipped: 'row 2 has probability NaN for class 0',
      },
    );
  });
});

describe('sliceReport', () => {
  // Rows 1-6 in group A (all right), rows 7-9 in group B (rows 7 and 8 wrong), row 10 in C.
  // Holdout accuracy 8/10 = 0.8; B: 1/3, 0.4667 below it.
  const labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
  const predictions = [0, 0, 0, 0, 1, 1, 0, 0, 1, 1];
  const slice = {
    column: 'site',
    values: ['A', 'B', 'C'],
    codes: Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]),
  };

  it('fails a judged group below a floor, naming column, value, rows and accuracy', () => {
    const report = sliceReport({
      slice,
      spec: { column: 'site', minAccuracy: 0.5, maxAccuracyGap: 0.3, minRows: 2 },
      labels,
      predictions,
      overallAccuracy: 0.8,
    });
    expect(report.passed).toBe(false);
    expect(report.failingGroups).toBe(1);
    // Failing groups first, then the largest.
    expect(report.groups.map((g) => [g.value, g.rows, g.judged, g.passed])).toEqual([
      ['B', 3, true, false],
      ['A', 6, true, true],
      ['C', 1, false, true],
    ]);
    expect(report.groups[0]?.accuracy).toBeCloseTo(1 / 3, 12);
    expect(report.groups[0]?.gap).toBeCloseTo(0.8 - 1 / 3, 12);
    expect(sliceFailures([report])).toEqual([
      'slice site="B": 3 rows, accuracy 0.3333 < min 0.5',
      `slice site="B": 3 rows, accuracy 0.3333, 0.4667 below the holdout's 0.8 > max gap 0.3`,
    ]);
  });

  it('reports a group with fewer rows than minRows without judging it', () => {
    const report = sliceReport({
      slice,
      spec: { column: 'site', minAccuracy: 0.5, minRows: 4 },
      labels,
      predictions,
      overallAccuracy: 0.8,
    });
    expect(report.passed).toBe(true);
    expect(report.groups.find((g) => g.value === 'B')).toMatchObject({
      rows: 3,
      judged: false,
      passed: true,
    });
    expect(sliceFailures([report])).toEqual([]);
  });

  it('passes groups that meet the floor exactly', () => {
    const report = sliceReport({
      slice,
      spec: { column: 'site', minAccuracy: 1 / 3, maxAccuracyGap: 0.8 - 1 / 3, minRows: 1 },
      labels,
      predictions,
      overallAccuracy: 0.8,
    });
    expect(report.passed).toBe(true);
  });
});

describe('the holdout reader with slice columns', () => {
  it('reads slice columns as text groups and leaves them out of the features', () => {
    const result = parseHoldoutCsv(
      'a,site,label,b,band\n1,north,0,2,x\n3,"south",1,4,y\n5,,0,6,x\n7,north,1,8,y\n',
      'label',
      'h.csv',
      { sliceColumns: ['band', 'site'] },
    );
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.data.featureNames).toEqual(['a', 'b']);
    expect([...result.data.features]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(result.data.slices).toEqual([
      { column: 'band', values: ['x', 'y'], codes: Int32Array.from([0, 1, 0, 1]) },
      { column: 'site', values: ['north', 'south', ''], codes: Int32Array.from([0, 1, 2, 0]) },
    ]);
  });

  it('names a slice column the header lacks', () => {
    expect(parseHoldoutCsv('a,label\n1,0\n', 'label', 'h.csv', { sliceColumns: ['site'] })).toEqual({
      ok: false,
      errors: ['h.csv: no slice column "site" in the header (columns: a, label)'],
    });
  });

  it('reads a holdout without slices as before', () => {
    const result = parseHoldoutCsv('a,site,label\n1,2,0\n', 'label', 'h.csv');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.data.featureNames).toEqual(['a', 'site']);
    expect(result.data.slices).toBeUndefined();
  });
});

describe('seeded shuffles', () => {
  it('are permutations, the same for the same key and different for another', () => {
    const one = permutation(50, streamKey(7, 1, 0));
    expect([...one].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(permutation(50, streamKey(7, 1, 0))).toEqual(one);
    expect(permutation(50, streamKey(7, 1, 1))).not.toEqual(one);
  });

  it('sample distinct rows, all of them when asked for more', () => {
    const sample = sampleRows(1000, 100, streamKey(3));
    expect(new Set(sample).size).toBe(100);
    expect(Math.max(...sample)).toBeLessThan(1000);
    expect(sampleRows(5, 100, streamKey(3))).toHaveLength(5);
  });
});

describe('permutationImportance', () => {
  // Holdout labels 0 1 1 0, predictions 0 1 0 0; the plan samples rows 3, 1, 2 (0-based 2, 0, 1):
  // labels 1 0 1, predictions 0 0 1 → 2 of 3 right.
  // Feature 0, repeat 0 [1 0 1]: 3 right, lost −1; repeat 1 [0 1 0]: 0 right, lost 2.
  //   Mean lost 0.5 rows of 3 = 1/6; spread: population sd of (−1, 2) = 1.5 rows = 0.5.
  // Feature 1, repeat 0 [0 0 1]: 2 right, lost 0; repeat 1 [1 0 1]: 3 right, lost −1 → mean −1/6.
  const plan: PermutationPlan = {
    rows: Int32Array.from([2, 0, 1]),
    repeats: 2,
    seed: 9,
    features: 2,
    budgetMs: 1000,
  };
  const report = permutationImportance({
    featureNames: ['x', 'y'],
    labels: [0, 1, 1, 0],
    predictions: [0, 1, 0, 0],
    plan,
    run: {
      rows: 3,
      features: 2,
      predictions: Int32Array.from([1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1]),
      elapsedMs: 1,
    },
  });

  it('gives the mean drop in accuracy with its spread, most important first', () => {
    expect(report.baseline).toBeCloseTo(2 / 3, 12);
    expect(report.features.map((f) => f.feature)).toEqual(['x', 'y']);
    const [x, y] = report.features;
    expect(x?.mean).toBeCloseTo(1 / 6, 12);
    expect(x?.std).toBeCloseTo(0.5, 12);
    expect(x?.min).toBeCloseTo(-1 / 3, 12);
    expect(x?.max).toBeCloseTo(2 / 3, 12);
    expect(y?.mean).toBeCloseTo(-1 / 6, 12);
    expect(report).toMatchObject({
      rows: 3,
      plannedRows: 3,
      repeats: 2,
      seed: 9,
      complete: true,
      modelRows: 12,
    });
  });

  it('cuts the rows to the time budget at the holdout pass pace, never below 50', () => {
    const big = { ...plan, rows: new Int32Array(1000), features: 10, repeats: 5 };
    expect(rowsWithinBudget(big, 0.01)).toBe(1000);
    expect(rowsWithinBudget(big, 0.1)).toBe(200);
    expect(rowsWithinBudget(big, 10)).toBe(50);
  });
});

describe('importanceShift', () => {
  it('compares the top k and ranks the common features with Kendall tau-b', () => {
    const stable = {
      features: [0.3, 0.2, 0.1, 0].map((mean, column) => ({ feature: 'abcd'[column] ?? '', column, mean })),
    };
    const candidate = {
      features: [
        { feature: 'b', column: 1, mean: 0.4 },
        { feature: 'a', column: 0, mean: 0.3 },
        { feature: 'd', column: 3, mean: 0.1 },
        { feature: 'c', column: 2, mean: 0 },
      ],
    };
    // Pairs: (a,b) and (c,d) swap, the other four keep their order: (4 − 2) / 6.
    expect(importanceShift(stable, candidate, 2)).toEqual({
      k: 2,
      topStable: ['a', 'b'],
      topCandidate: ['b', 'a'],
      overlap: 2,
      entered: [],
      left: [],
      commonFeatures: 4,
      kendallTau: expect.closeTo(1 / 3, 12),
    });
    const moved = importanceShift(stable, candidate, 3);
    expect(moved).toMatchObject({ topStable: ['a', 'b', 'c'], topCandidate: ['b', 'a', 'd'], overlap: 2 });
    expect(moved.entered).toEqual(['d']);
    expect(moved.left).toEqual(['c']);
  });

  it('computes tau-b with ties as scipy does, and says null when it is undefined', () => {
    expect(kendallTauB([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
    expect(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    expect(kendallTauB([1, 2, 3], [1, 3, 2])).toBeCloseTo(1 / 3, 12);
    // scipy.stats.kendalltau([1, 1, 2], [1, 2, 3]) = 0.8164965809277261 = 2 / sqrt(2 × 3).
    expect(kendallTauB([1, 1, 2], [1, 2, 3])).toBeCloseTo(2 / Math.sqrt(6), 12);
    expect(kendallTauB([1], [1])).toBeNull();
    expect(kendallTauB([0, 0, 0], [1, 2, 3])).toBeNull();
  });
});
