/**
 * The monitor's drift test: no false alarms on long runs of undrifted traffic against a finite
 * reference (where a test that took the reference's shares as the truth does raise them), quick
 * detection of a shift that begins after a long quiet history, a state that survives JSON and
 * stays the same size, and clear refusals of bad input.
 */
import { describe, expect, it } from 'vitest';
import { logEValueAbove } from '../../analysis/beta-binomial.ts';
import { type DriftState, observeDrift, startDriftTest } from '../../analysis/drift.ts';
import { numericFeature } from './drift-simulation.ts';

/** Feeds `looks` looks of `draw()` counts; returns the look at which the test first drifted, or -1. */
function firstDrift(state: DriftState, looks: number, draw: (look: number) => number[]) {
  let current = state;
  for (let look = 0; look < looks; look += 1) {
    const result = observeDrift(current, draw(look));
    current = result.state;
    if (result.drifted) return { look, state: current, result };
  }
  return { look: -1, state: current, result: undefined };
}

describe('drift test on undrifted traffic', () => {
  it('keeps false alarms within alpha on long runs where live rows outnumber the reference 300 to 1 (Monte Carlo)', () => {
    // 40 seeded references of 300 rows in 10 quantile bins, each followed by 300 looks of 300
    // undrifted rows (90,000 live rows). A test that took the reference's shares as the truth
    // (one Beta-mixture test per bin, alpha split over the bins) alarms in most of these runs:
    // the reference's own sampling error is what it finds. The drift test must not.
    const alpha = 0.1;
    const runs = 40;
    let alarms = 0;
    let naiveAlarms = 0;
    for (let run = 0; run < runs; run += 1) {
      const feature = numericFeature(1000 + run, 300, 10);
      const referenceRows = feature.reference.reduce((a, b) => a + b, 0);
      let state = startDriftTest(feature.reference, { alpha });
      const live = new Array<number>(10).fill(0);
      let naive = false;
      for (let look = 0; look < 300; look += 1) {
        const counts = feature.draw(300);
        const result = observeDrift(state, counts);
        state = result.state;
        counts.forEach((count, bin) => {
          live[bin] = (live[bin] ?? 0) + count;
        });
        if (!naive && look % 10 === 9) {
          const total = live.reduce((a, b) => a + b, 0);
          naive = feature.reference.some(
            (count, bin) =>
              logEValueAbove(live[bin] ?? 0, total, count / referenceRows) >= Math.log(10 / alpha),
          );
        }
      }
      if (state.drifted) alarms += 1;
      if (naive) naiveAlarms += 1;
    }
    // P(Binomial(40, 0.1) ≥ 10) < 1 %: a test at its alpha passes this almost always.
    expect(alarms).toBeLessThanOrEqual(9);
    expect(naiveAlarms).toBeGreaterThanOrEqual(runs / 2);
  });

  it('does not move on looks without traffic', () => {
    const feature = numericFeature(7, 500, 10);
    const first = observeDrift(startDriftTest(feature.reference, { alpha: 0.01 }), feature.draw(200));
    const empty = observeDrift(first.state, new Array<number>(10).fill(0));
    expect(empty.eValue).toBe(first.eValue);
    expect(empty.rows).toBe(first.rows);
    expect(empty.state.tests).toEqual(first.state.tests);
    expect(empty.state.looks).toBe(2);
  });
});

describe('drift test on drifted traffic', () => {
  it('catches a 0.75 std shift that begins after 100,000 quiet rows within 4 looks of 200 rows', () => {
    for (let run = 0; run < 10; run += 1) {
      const feature = numericFeature(2000 + run, 500, 10);
      const start = startDriftTest(feature.reference, { alpha: 0.01 / 6 });
      const quiet = firstDrift(start, 500, () => feature.draw(200));
      expect(quiet.look).toBe(-1);
      const shifted = firstDrift(quiet.state, 50, () => feature.draw(200, 0.75));
      expect(shifted.look).toBeGreaterThanOrEqual(0);
      expect(shifted.look).toBeLessThan(4);
      expect(shifted.result?.leadingTest).toMatch(/above$/);
    }
  });

  it('names the bin a new category surged into, with its shares and a PSI over 0.2', () => {
    // Categories 0..3 and an "other" bin the reference never saw; live traffic puts 30 % there.
    const reference = [120, 80, 60, 40, 0];
    let state = startDriftTest(reference, { alpha: 0.01, ordered: false });
    let look = observeDrift(state, [70, 47, 35, 23, 0]);
    for (let i = 0; i < 20 && !look.drifted; i += 1) {
      state = look.state;
      look = observeDrift(state, [49, 33, 25, 16, 52]);
    }
    expect(look.drifted).toBe(true);
    expect(look.worstBin).toBe(4);
    expect(look.referenceShares[4]).toBe(0);
    expect(look.liveShares[4]).toBeGreaterThan(0.1);
    expect(look.psi).toBeGreaterThan(0.2);
    expect(look.eValue).toBeGreaterThanOrEqual(look.threshold);
  });

  it('handles a look of a billion rows', () => {
    const feature = numericFeature(11, 500, 10);
    const state = startDriftTest(feature.reference, { alpha: 0.01 });
    const same = feature.reference.map((count) => count * 2_000_000);
    const calm = observeDrift(state, same);
    expect(calm.drifted).toBe(false);
    expect(calm.rows).toBe(1_000_000_000);
    const shifted = observeDrift(calm.state, [...same.slice(1), 0]);
    expect(shifted.drifted).toBe(true);
    expect(Number.isFinite(shifted.eValue)).toBe(true);
    const json = JSON.stringify(shifted.state);
    expect(json).not.toMatch(/:null|NaN|Infinity/);
  });

  it('never drifts with a single bin, whatever comes', () => {
    let state = startDriftTest([45], { alpha: 0.01 });
    for (const rows of [0, 10, 1_000_000_000]) {
      const look = observeDrift(state, [rows]);
      expect(look.drifted).toBe(false);
      expect(look.liveShares).toEqual([rows > 0 ? 1 : 0]);
      state = look.state;
    }
  });
});

describe('drift state', () => {
  it('survives a JSON round trip: the next looks are the same from the copy', () => {
    const feature = numericFeature(3, 200, 8);
    let state = startDriftTest(feature.reference, { alpha: 0.005 });
    for (let i = 0; i < 20; i += 1) state = observeDrift(state, feature.draw(150)).state;
    const copy = JSON.parse(JSON.stringify(state)) as DriftState;
    expect(copy).toEqual(state);
    const counts = feature.draw(150, 1);
    expect(observeDrift(copy, counts)).toEqual(observeDrift(state, counts));
  });

  it('stays the same size however many looks it takes', () => {
    const feature = numericFeature(5, 500, 10);
    let state = startDriftTest(feature.reference, { alpha: 0.01 });
    const shapeOf = (s: DriftState) => s.tests.map((test) => test.logWealth.length).join(',');
    const shape = shapeOf(state);
    for (let i = 0; i < 2000; i += 1) state = observeDrift(state, feature.draw(20)).state;
    expect(shapeOf(state)).toBe(shape);
    expect(state.counts).toHaveLength(10);
    expect(JSON.stringify(state).length).toBeLessThan(10_000);
  });
});

describe('drift test input', () => {
  const state = startDriftTest([10, 20, 30], { alpha: 0.01 });

  it.each([
    [[1, 2], /counts has 2 entries, expected 3/],
    [[1, -2, 3], /counts\[1\] is -2; counts must be non-negative integers/],
    [[1, 2.5, 3], /counts\[1\] is 2.5/],
    [[Number.NaN, 2, 3], /counts\[0\] is NaN/],
    [[1, 2, Number.POSITIVE_INFINITY], /counts\[2\] is Infinity/],
  ])('refuses counts %j', (counts, message) => {
    expect(() => observeDrift(state, counts)).toThrow(message);
  });

  it('refuses a bad reference or alpha', () => {
    expect(() => startDriftTest([], { alpha: 0.01 })).toThrow(/reference has no bins/);
    expect(() => startDriftTest([3, -1], { alpha: 0.01 })).toThrow(/reference\[1\] is -1/);
    expect(() => startDriftTest([3, 1], { alpha: 0 })).toThrow(/alpha is 0/);
    expect(() => startDriftTest([3, 1], { alpha: Number.NaN })).toThrow(/alpha is NaN/);
    expect(() => startDriftTest([3, 1], { alpha: 1 })).toThrow(/alpha is 1/);
  });
});
