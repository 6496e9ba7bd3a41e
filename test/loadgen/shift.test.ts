/** Replaying the holdout as drifted traffic: one column moved, in its units or its standard deviations. */
import { describe, expect, it } from 'vitest';
import { HoldoutError, shiftedFeatures } from '../../serving/loadgen/payload.ts';

// Two features, three rows: a = 1, 2, 3 (sd 1), b = 10, 20, 30.
const features = Float64Array.from([1, 10, 2, 20, 3, 30]);
const names = ['a', 'b'];

describe('shifted holdout rows', () => {
  it('adds the shift to one column only, leaving the holdout itself alone', () => {
    const out = shiftedFeatures(features, names, { feature: 'b', by: -5, unit: 'value' }, 'h.csv');
    expect([...out]).toEqual([1, 5, 2, 15, 3, 25]);
    expect([...features]).toEqual([1, 10, 2, 20, 3, 30]);
  });

  it('measures a shift in standard deviations of the column', () => {
    const out = shiftedFeatures(features, names, { feature: 'a', by: 1.5, unit: 'sd' }, 'h.csv');
    expect([...out]).toEqual([2.5, 10, 3.5, 20, 4.5, 30]);
  });

  it('names the columns there are when the feature is not one of them', () => {
    expect(() => shiftedFeatures(features, names, { feature: 'c', by: 1, unit: 'value' }, 'h.csv')).toThrow(
      new HoldoutError('cannot shift "c": h.csv has no such feature column (columns: a, b)'),
    );
  });
});
