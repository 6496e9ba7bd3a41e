/**
 * The floor test (live accuracy, data quality) and the betting arithmetic under both monitor
 * tests: false alarms within alpha for a model exactly at its floor, a decay after a long healthy
 * history caught within a few looks, bounds that hold, and refusals of bad input.
 */
import { describe, expect, it } from 'vitest';
import { proportionBounds } from '../../analysis/beta-binomial.ts';
import { type FloorState, observeFloor, startFloorTest } from '../../analysis/drift.ts';
import { logStartWeight, meanUpperBound, startPrior } from '../../analysis/drift-bets.ts';
import { mulberry32 } from '../support/seeded-random.ts';
import { binomial } from './drift-simulation.ts';

describe('floor test', () => {
  it('keeps false alarms within alpha for a model exactly at its floor, read at every look (Monte Carlo)', () => {
    // 40 seeded runs of 150 looks of 50 labelled rows at accuracy 0.9 = the floor. A look-by-look
    // check "window accuracy below the floor" alarms in nearly every run; the test must not.
    const alpha = 0.2;
    const runs = 40;
    let alarms = 0;
    let windowAlarms = 0;
    for (let run = 0; run < runs; run += 1) {
      const random = mulberry32(300 + run);
      let state = startFloorTest(0.9, { alpha });
      let windowAlarm = false;
      for (let look = 0; look < 150; look += 1) {
        const correct = binomial(random, 50, 0.9);
        if (correct / 50 < 0.9) windowAlarm = true;
        state = observeFloor(state, correct, 50).state;
      }
      if (state.belowFloor) alarms += 1;
      if (windowAlarm) windowAlarms += 1;
    }
    // P(Binomial(40, 0.2) ≥ 15) < 1 %.
    expect(alarms).toBeLessThanOrEqual(14);
    expect(windowAlarms).toBeGreaterThan(runs * 0.9);
  });

  it('catches accuracy falling from 0.95 to 0.75 after 100,000 healthy rows within 4 looks of 100', () => {
    for (let run = 0; run < 10; run += 1) {
      const random = mulberry32(400 + run);
      let state = startFloorTest(0.9, { alpha: 0.01 });
      for (let look = 0; look < 200; look += 1) {
        state = observeFloor(state, binomial(random, 500, 0.95), 500).state;
      }
      expect(state.belowFloor).toBe(false);
      let caughtAt = -1;
      for (let look = 0; look < 20 && caughtAt < 0; look += 1) {
        const result = observeFloor(state, binomial(random, 100, 0.75), 100);
        state = result.state;
        if (result.belowFloor) caughtAt = look;
      }
      expect(caughtAt).toBeGreaterThanOrEqual(0);
      expect(caughtAt).toBeLessThan(4);
    }
  });

  it('reports the rate, a confidence sequence around it and the recent rate', () => {
    let state = startFloorTest(0.8, { alpha: 0.05 });
    const before = observeFloor(state, 0, 0);
    expect(before.interval).toEqual([0, 1]);
    expect(before.total).toBe(0);
    state = observeFloor(state, 900, 1000).state;
    const look = observeFloor(state, 600, 1000);
    expect(look.estimate).toBeCloseTo(0.75, 12);
    expect(look.interval[0]).toBeLessThan(0.75);
    expect(look.interval[1]).toBeGreaterThan(0.75);
    expect(look.interval[1] - look.interval[0]).toBeLessThan(0.1);
    // The recent rate leans to the last look: 600 of 1000 there, 900 of 1000 before.
    expect(look.recentEstimate).toBeLessThan(0.72);
    expect(look.total).toBe(2000);
  });

  it('with a floor of 1 fails at the first bad row; with a floor of 0 never', () => {
    const strict = startFloorTest(1, { alpha: 0.01 });
    expect(observeFloor(strict, 1000, 1000).belowFloor).toBe(false);
    expect(observeFloor(strict, 999, 1000).belowFloor).toBe(true);
    const none = startFloorTest(0, { alpha: 0.01 });
    expect(observeFloor(none, 0, 1_000_000_000).belowFloor).toBe(false);
  });

  it('survives a JSON round trip', () => {
    let state = startFloorTest(0.9, { alpha: 0.01 });
    for (let i = 0; i < 10; i += 1) state = observeFloor(state, 95, 100).state;
    const copy = JSON.parse(JSON.stringify(state)) as FloorState;
    expect(copy).toEqual(state);
    expect(observeFloor(copy, 70, 100)).toEqual(observeFloor(state, 70, 100));
  });

  it('refuses bad input', () => {
    const state = startFloorTest(0.9, { alpha: 0.01 });
    expect(() => observeFloor(state, 5, 4)).toThrow(
      /correct is 5; it must be an integer from 0 to total \(4\)/,
    );
    expect(() => observeFloor(state, -1, 4)).toThrow(/correct is -1/);
    expect(() => observeFloor(state, 1.5, 4)).toThrow(/correct is 1.5/);
    expect(() => observeFloor(state, 1, Number.NaN)).toThrow(/total is NaN/);
    expect(() => startFloorTest(1.2, { alpha: 0.01 })).toThrow(/floor is 1.2/);
    expect(() => startFloorTest(0.9, { alpha: 2 })).toThrow(/alpha is 2/);
  });
});

describe('betting arithmetic', () => {
  it('spreads at most one unit of start weight over all the rows there will ever be', () => {
    let total = 0;
    let rows = 0;
    for (const step of [0, 1, 199, 5000, 1e6, 1e9, 1e12]) {
      total += Math.exp(logStartWeight(rows, rows + step));
      rows += step;
      expect(total).toBeCloseTo(startPrior(rows), 9);
    }
    expect(startPrior(0)).toBe(0);
    expect(total).toBeLessThan(1);
    expect(Math.exp(logStartWeight(5, 5))).toBe(0);
  });

  it('bounds a mean from above at least 1 − delta of the time (Monte Carlo)', () => {
    const delta = 0.1;
    let misses = 0;
    const random = mulberry32(99);
    for (let run = 0; run < 400; run += 1) {
      // Scores 0, 0.5 and 1 with probabilities 0.5, 0.3, 0.2: mean 0.35.
      const counts = [0, 0, 0];
      for (let i = 0; i < 60; i += 1) {
        const u = random();
        const score = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
        counts[score] = (counts[score] ?? 0) + 1;
      }
      if (meanUpperBound([0, 0.5, 1], counts, delta) < 0.35) misses += 1;
    }
    expect(misses).toBeLessThanOrEqual(40);
  });

  it('gives a tighter bound than a Bernoulli bound when the score varies little', () => {
    // 100 rows scoring 0.4 or 0.6: mean 0.5, variance 0.01, a 25th of a coin's.
    const upper = meanUpperBound([0.4, 0.6], [50, 50], 0.01);
    const bernoulli = proportionBounds(50, 100, 0.01).upper;
    expect(upper).toBeGreaterThan(0.5);
    expect(upper - 0.5).toBeLessThan((bernoulli - 0.5) / 2);
    expect(meanUpperBound([0.4, 0.6], [0, 0], 0.01)).toBe(1);
  });
});
