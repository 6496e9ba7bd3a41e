/**
 * The spec fields of the deeper validation report: `validation.holdout.probabilityOutput`,
 * `validation.slices` and `validation.importance`, their defaults, and errors positioned at
 * what the author wrote (positions found in the fixture's raw text, not through the YAML library).
 */
import { describe, expect, it } from 'vitest';
import { importanceOptions } from '../../specs/validation-schema.ts';
import { parseRepoSpec, positionIn, readRepoFile } from './helpers.ts';

const fixture = (kind: 'valid' | 'invalid', name: string) => `test/fixtures/specs/${kind}/${name}.yaml`;

function errorsOf(name: string) {
  const result = parseRepoSpec(fixture('invalid', name));
  if (result.ok) throw new Error(`${name} parsed`);
  return result.errors.map(({ path, line, column }) => ({ path, line, column }));
}

describe('validation report fields', () => {
  it('parse with their defaults filled in', () => {
    const result = parseRepoSpec(fixture('valid', 'validation-report'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { validation } = result.spec.spec;
    expect(validation.holdout).toEqual({
      path: 'models/iris/holdout.csv',
      labelColumn: 'label',
      predictionOutput: 'label',
      probabilityOutput: 'probabilities',
    });
    expect(validation.slices).toEqual([
      { column: 'site', minAccuracy: 0.75, maxAccuracyGap: 0.1, minRows: 10 },
      { column: 'collected_by', minRows: 20 },
    ]);
    expect(validation.importance).toEqual({
      enabled: true,
      repeats: 3,
      maxRows: 500,
      seed: 7,
      budget: '30s',
      budgetMs: 30_000,
      topK: 3,
    });
  });

  it('are optional: a spec without them gets importance by default and neither slices nor calibration', () => {
    const result = parseRepoSpec(fixture('valid', 'minimal'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { validation } = result.spec.spec;
    expect(validation.slices).toBeUndefined();
    expect(validation.holdout.probabilityOutput).toBeUndefined();
    expect(importanceOptions(validation.importance)).toEqual({
      enabled: true,
      repeats: 5,
      maxRows: 2000,
      seed: 0,
      budget: '60s',
      budgetMs: 60_000,
      topK: 5,
    });
  });

  it('point schema errors at the value, and an unknown option at its key', () => {
    const text = readRepoFile(fixture('invalid', 'slice-floors-out-of-range'));
    expect(errorsOf('slice-floors-out-of-range')).toEqual([
      { path: 'spec.validation.slices.0.minAccuracy', ...positionIn(text, '90\n') },
      { path: 'spec.validation.slices.0.minRows', ...positionIn(text, '0\n      - {') },
      { path: 'spec.validation.slices.1.maxRows', ...positionIn(text, 'maxRows: 10') },
      { path: 'spec.validation.importance.repeats', ...positionIn(text, '0\n  rollout') },
    ]);
  });

  it('point rule errors at the slice column or output they are about', () => {
    const text = readRepoFile(fixture('invalid', 'slice-columns-misused'));
    const site = text.indexOf('column: site');
    const secondSite = text.indexOf('column: site', site + 1);
    const before = text.slice(0, secondSite).split('\n');
    expect(errorsOf('slice-columns-misused')).toEqual([
      { path: 'spec.validation.holdout.probabilityOutput', ...positionIn(text, 'label\n    metrics') },
      { path: 'spec.validation.slices.0.column', ...positionIn(text, 'label\n      - column: petal') },
      { path: 'spec.validation.slices.1.column', ...positionIn(text, 'petal_width_cm\n') },
      {
        path: 'spec.validation.slices.3.column',
        line: before.length,
        column: (before.at(-1)?.length ?? 0) + 'column: '.length + 1,
      },
      { path: 'spec.validation.importance.budget', ...positionIn(text, '0s }') },
    ]);
  });
});
