/**
 * The drift test's exact null for quantile bins (`analysis/drift-urn.ts`): the true shares of the
 * profile's bins follow the Dirichlet law the urn starts from, for any continuous feature
 * (checked by simulation through `model/profile.ts` itself); a bet against the urn is fair for a
 * look of any size; and the test built on it keeps its alpha on undrifted traffic yet catches a
 * quarter of a standard deviation within an hour of a day's quiet traffic.
 */
import { describe, expect, it } from 'vitest';
import { logBeta } from '../../analysis/beta-binomial.ts';
import { type DriftState, observeDrift, startDriftTest } from '../../analysis/drift.ts';
import { logBetGrowthBinary, logRising } from '../../analysis/drift-bets.ts';
import {
  boundedScores,
  groupBins,
  isReferenceQuantileCut,
  logUrnCorrection,
  shareUpperBound,
  urnScores,
  urnWeights,
} from '../../analysis/drift-urn.ts';
import { profileHoldout } from '../../model/profile.ts';
import { mulberry32 } from '../support/seeded-random.ts';
import { numericFeature } from './drift-simulation.ts';

/** The edges and counts `model/profile.ts` gives one numeric column. */
function profileOf(values: readonly number[], bins: number): { edges: number[]; counts: number[] } {
  const profile = profileHoldout({
    holdout: {
      featureNames: ['x'],
      rows: values.length,
      features: Float64Array.from(values),
      labels: new Int32Array(values.length),
    },
    predictions: new Int32Array(values.length),
    inputName: 'input',
    holdoutPath: 'holdout.csv',
    holdoutSha256: '0'.repeat(64),
    metrics: {},
    bins,
  });
  const feature = profile.features[0];
  if (feature?.kind !== 'numeric') throw new Error('expected a numeric feature');
  return { edges: feature.edges, counts: feature.counts };
}

/** P(Binomial(n, p) ≥ k), which is P(Beta(k, n − k + 1) ≤ p): the Beta law's CDF, for small n. */
function binomialTail(n: number, p: number, k: number): number {
  let total = 0;
  for (let j = k; j <= n; j += 1) {
    const logChoose = -Math.log(n + 1) - logBeta(j + 1, n - j + 1);
    total += Math.exp(logChoose + j * Math.log(p) + (n - j) * Math.log1p(-p));
  }
  return total;
}

describe('the urn law of quantile bins', () => {
  it('gives each profile cut a true share below it distributed Beta(r + 1, n − r), whatever the continuous feature (simulation)', () => {
    // 3000 holdouts of 30 exponential values cut into 5 bins by the profile code itself. If the
    // share below cut k (r reference rows below it) is Beta(r + 1, n − r), its CDF at the true
    // share is uniform; one row less (the reference shares taken at face value) is not.
    const random = mulberry32(41);
    const n = 30;
    const exact: number[] = [];
    const faceValue: number[] = [];
    const middle: number[] = [];
    for (let run = 0; run < 3000; run += 1) {
      const values = Array.from({ length: n }, () => -Math.log(1 - random()));
      const { edges, counts } = profileOf(values, 5);
      expect(isReferenceQuantileCut(counts)).toBe(true);
      const share = (edge: number) => 1 - Math.exp(-edge);
      let below = 0;
      edges.forEach((edge, k) => {
        below += counts[k] ?? 0;
        exact.push(binomialTail(n, share(edge), below + 1));
        faceValue.push(binomialTail(n, share(edge), below));
      });
      // A bin between two cuts is Beta(count, n + 1 − count).
      for (let bin = 1; bin < edges.length; bin += 1) {
        const weight = urnWeights(counts)[bin] ?? 0;
        middle.push(binomialTail(n, share(edges[bin] ?? 0) - share(edges[bin - 1] ?? 0), weight));
      }
    }
    const tail = (pits: number[], low: boolean) =>
      pits.filter((pit) => (low ? pit < 0.05 : pit > 0.95)).length / pits.length;
    for (const pits of [exact, middle]) {
      expect(tail(pits, true)).toBeGreaterThan(0.04);
      expect(tail(pits, true)).toBeLessThan(0.06);
      expect(tail(pits, false)).toBeGreaterThan(0.04);
      expect(tail(pits, false)).toBeLessThan(0.06);
    }
    // Off by one row, a 95 % bound misses about twice as often as it says.
    expect(tail(faceValue, false)).toBeGreaterThan(0.08);
  });

  it('bounds the true share of every bounded group exactly: a bound at delta misses in a delta share of holdouts (simulation)', () => {
    // 4000 holdouts of 40 uniform values (the true share of a range is its length) cut into 6 bins.
    const random = mulberry32(47);
    const n = 40;
    const bins = 6;
    const delta = 0.05;
    let checked = 0;
    let missed = 0;
    for (let run = 0; run < 4000; run += 1) {
      const { edges, counts } = profileOf(
        Array.from({ length: n }, () => random()),
        bins,
      );
      const weights = urnWeights(counts);
      const total = weights.reduce((a, b) => a + b, 0);
      const bounds = [0, ...edges, 1];
      for (const { score, side } of boundedScores(bins)) {
        const group = groupBins(score, bins);
        const share = group.reduce((sum, bin) => sum + (bounds[bin + 1] ?? 0) - (bounds[bin] ?? 0), 0);
        const inGroup = group.reduce((sum, bin) => sum + (weights[bin] ?? 0), 0);
        const above = side === 'above';
        const bound = shareUpperBound(above ? inGroup : total - inGroup, total, delta);
        checked += 1;
        if ((above ? share : 1 - share) > bound) missed += 1;
      }
    }
    expect(missed / checked).toBeGreaterThan(0.04);
    expect(missed / checked).toBeLessThan(0.06);
  });

  it('checks the counts for the profile cut: a value tied at a cut, an empty bin or one bin fails it', () => {
    const random = mulberry32(43);
    const smooth = Array.from({ length: 200 }, () => random());
    expect(isReferenceQuantileCut(profileOf(smooth, 10).counts)).toBe(true);
    expect(isReferenceQuantileCut(profileOf(smooth.slice(0, 7), 10).counts)).toBe(true);
    // Values to one decimal: 200 rows over 11 values tie at every cut.
    const tied = profileOf(
      smooth.map((value) => Math.round(value * 10) / 10),
      10,
    );
    expect(isReferenceQuantileCut(tied.counts)).toBe(false);
    expect(isReferenceQuantileCut([0, 10, 10])).toBe(false);
    expect(isReferenceQuantileCut([45])).toBe(false);
  });

  it('makes a bet against the urn fair for a look of any size: expectation exactly one', () => {
    // Enumerate the look's hits under the urn's beta-binomial law, computed apart with log-beta.
    for (const [inGroup, total, rows] of [
      [2, 7, 5],
      [51, 501, 200],
      [250.5, 1001, 300],
    ] as const) {
      for (const fraction of [0.01, 0.32, 0.9]) {
        for (const above of [true, false]) {
          let expectation = 0;
          for (let hits = 0; hits <= rows; hits += 1) {
            const logSequence =
              logBeta(inGroup + hits, total - inGroup + rows - hits) - logBeta(inGroup, total - inGroup);
            const logChoose = -Math.log(rows + 1) - logBeta(hits + 1, rows - hits + 1);
            const predicted = (above ? inGroup : total - inGroup) / total;
            const wins = above ? hits : rows - hits;
            const logBet =
              logBetGrowthBinary(wins, rows, predicted, fraction) +
              logUrnCorrection(hits, rows, inGroup, total);
            expectation += Math.exp(logChoose + logSequence + logBet);
          }
          expect(expectation).toBeCloseTo(1, 9);
        }
      }
    }
  });

  it('computes log rising factorials to about 1e-12 of the direct sum, from tiny to huge weights', () => {
    for (const a of [0.5, 1, 3.7, 10, 1234.5, 1e6]) {
      for (const x of [0, 1, 5, 9, 50, 1000, 5000]) {
        let direct = 0;
        for (let i = 0; i < x; i += 1) direct += Math.log(a + i);
        expect(Math.abs(logRising(a, x) - direct)).toBeLessThan(1e-12 * Math.max(1, Math.abs(direct)));
      }
    }
  });

  it('bets on each bin, each upper tail and the outer bins, one bet per group and side', () => {
    const scores = urnScores(10);
    expect(scores).toHaveLength(28);
    const keys = scores.map(({ score, side }) => `${score} ${side}`);
    expect(new Set(keys).size).toBe(28);
    expect(keys).toContain('bins:5-9 above');
    expect(keys).toContain('bin:0 above');
    expect(keys).toContain('tails below');
    expect(groupBins('tails', 10)).toEqual([0, 1, 2, 7, 8, 9]);
    expect(groupBins('bins:5-9', 10)).toEqual([5, 6, 7, 8, 9]);
    expect(urnScores(2)).toEqual([
      { score: 'bin:0', side: 'above' },
      { score: 'bin:1', side: 'above' },
    ]);
    expect(urnScores(1)).toEqual([]);
  });
});

describe('drift test against the urn', () => {
  it('uses the urn for the profile cut of a continuous feature, bounds after a tie at a cut and for categories', () => {
    const feature = numericFeature(9, 500, 10);
    expect(startDriftTest(feature.reference, { alpha: 0.01 }).method).toBe('urn');
    expect(startDriftTest(feature.reference, { alpha: 0.01, ordered: false }).method).toBe('bounds');
    const tied = [...feature.reference];
    tied[3] = (tied[3] ?? 0) - 1;
    tied[4] = (tied[4] ?? 0) + 1;
    expect(startDriftTest(tied, { alpha: 0.01 }).method).toBe('bounds');
    // A monitor that began before the urn keeps the bounds test on replay.
    expect(startDriftTest(feature.reference, { alpha: 0.01, exact: false }).method).toBe('bounds');
    expect(observeDrift(startDriftTest(feature.reference, { alpha: 0.01 }), feature.draw(10)).threshold).toBe(
      200,
    );
  });

  it('keeps false alarms within alpha on small references read at every look (Monte Carlo)', () => {
    // 200 holdouts of 45 rows (as small as iris's) in 10 bins, each followed by 100 looks of 100
    // undrifted rows: the urn learns most of what it knows from live rows here.
    const alpha = 0.1;
    let alarms = 0;
    for (let run = 0; run < 200; run += 1) {
      const feature = numericFeature(7000 + run, 45, 10);
      let state = startDriftTest(feature.reference, { alpha });
      expect(state.method).toBe('urn');
      for (let look = 0; look < 100 && !state.drifted; look += 1) {
        state = observeDrift(state, feature.draw(100)).state;
      }
      if (state.drifted) alarms += 1;
    }
    // P(Binomial(200, 0.1) ≥ 31) < 1 %.
    expect(alarms).toBeLessThanOrEqual(30);
  });

  it('catches a 0.25 std shift after a day of quiet traffic within an hour of 5-minute looks', () => {
    for (let run = 0; run < 10; run += 1) {
      const feature = numericFeature(8000 + run, 500, 10);
      let state = startDriftTest(feature.reference, { alpha: 0.01 / 6 });
      for (let look = 0; look < 288; look += 1) state = observeDrift(state, feature.draw(200)).state;
      expect(state.drifted).toBe(false);
      let caughtAt = -1;
      for (let look = 0; look < 12 && caughtAt < 0; look += 1) {
        const result = observeDrift(state, feature.draw(200, 0.25));
        state = result.state;
        if (result.drifted) {
          caughtAt = look;
          // A shift up shows as an upper tail (or a top bin) gaining share.
          expect(result.leadingTest).toMatch(/^bins? [0-9-]+ above$/);
        }
      }
      expect(caughtAt).toBeGreaterThanOrEqual(0);
    }
  });

  it('catches a 0.25 std shift present from the first live row within a day in most runs, by its exact bounds', () => {
    // No quiet traffic to learn from: the urn alone is held to what 500 reference rows can tell,
    // while a bet against an exact bound keeps growing with live rows once the truth is past it.
    let caught = 0;
    for (let run = 0; run < 10; run += 1) {
      const feature = numericFeature(9100 + run, 500, 10);
      let state = startDriftTest(feature.reference, { alpha: 0.01 });
      for (let look = 0; look < 288 && !state.drifted; look += 1) {
        state = observeDrift(state, feature.draw(200, 0.25)).state;
      }
      if (state.drifted) caught += 1;
    }
    // Not all: a holdout whose own sampling error leans the way of the shift hides it (7 of these 10 are caught).
    expect(caught).toBeGreaterThanOrEqual(6);
  });

  it('reads a state saved before the urn, which names no method, as a bounds test', () => {
    const feature = numericFeature(13, 300, 10);
    const bounds = startDriftTest(feature.reference, { alpha: 0.01, ordered: false });
    const { method: _method, ...saved } = bounds;
    const counts = feature.draw(200, 1);
    const old = observeDrift(saved as DriftState, counts);
    expect(old.threshold).toBe(200);
    expect(old.state.tests).toEqual(observeDrift(bounds, counts).state.tests);
  });
});
