/**
 * Positions checked by hand: each expected line and column is found in the fixture's raw text,
 * independently of the YAML library, so the snapshots cannot quietly pin a wrong position.
 */
import { describe, expect, it } from 'vitest';
import { parseRepoSpec, positionIn, readRepoFile } from './helpers.ts';

/** The errors of an invalid fixture as `{ path, line, column }`. */
function errorsOf(name: string) {
  const result = parseRepoSpec(`test/fixtures/specs/invalid/${name}.yaml`);
  if (result.ok) throw new Error(`${name} parsed`);
  return result.errors.map(({ path, line, column }) => ({ path, line, column }));
}

function textOf(name: string): string {
  return readRepoFile(`test/fixtures/specs/invalid/${name}.yaml`);
}

describe('error positions', () => {
  it('a wrong value points at the value', () => {
    expect(errorsOf('bad-dtype')).toEqual([
      { path: 'spec.interface.inputs.0.dtype', ...positionIn(textOf('bad-dtype'), 'float\n') },
    ]);
  });

  it('a rule error points at the value the rule is about', () => {
    expect(errorsOf('weights-not-increasing')).toEqual([
      { path: 'spec.rollout.steps.2.setWeight', ...positionIn(textOf('weights-not-increasing'), '30\n') },
    ]);
    expect(errorsOf('missing-holdout')).toEqual([
      {
        path: 'spec.validation.holdout.path',
        ...positionIn(textOf('missing-holdout'), 'models/iris/holdout-2024'),
      },
    ]);
  });

  it('a value inside a flow map points at that value', () => {
    expect(errorsOf('approval-timeout-zero')).toEqual([
      {
        path: 'spec.rollout.steps.3.approval.timeout',
        ...positionIn(textOf('approval-timeout-zero'), '0s }'),
      },
    ]);
  });

  it('a missing key points at the map that should hold it', () => {
    // The model map starts at its first key, `source:`.
    expect(errorsOf('missing-sha256')).toEqual([
      { path: 'spec.model.sha256', ...positionIn(textOf('missing-sha256'), 'source: models') },
    ]);
  });

  it('an unknown key points at the key itself, one error per key', () => {
    const text = textOf('unknown-field');
    expect(errorsOf('unknown-field')).toEqual([
      { path: 'metadata.team', ...positionIn(text, 'team:') },
      { path: 'spec.model.sorce', ...positionIn(text, 'sorce:') },
    ]);
  });

  it('an empty value points at its key, not at the end of the line', () => {
    expect(errorsOf('empty-value')).toEqual([
      { path: 'spec.model', ...positionIn(textOf('empty-value'), 'model:') },
    ]);
  });

  it('a step with two kinds points at the step', () => {
    const text = textOf('two-kinds-in-one-step');
    expect(errorsOf('two-kinds-in-one-step')).toEqual([
      { path: 'spec.rollout.steps.1', ...positionIn(text, 'setWeight: 10\n        pause') },
    ]);
  });

  it('a rule about a defaulted field points at the map the default went into', () => {
    const text = textOf('analysis-interval-default-too-long');
    expect(errorsOf('analysis-interval-default-too-long')).toEqual([
      { path: 'spec.rollout.steps.2.analysis.interval', ...positionIn(text, '{ duration: 5s }') },
    ]);
  });

  it('YAML errors carry their own positions, next to schema errors', () => {
    const text = textOf('yaml-and-schema-errors');
    expect(errorsOf('yaml-and-schema-errors')).toEqual([
      { path: 'spec.interface.outputs.0.dtype', ...positionIn(text, 'integer') },
      { path: '', ...positionIn(text, 'environment: prod') },
    ]);
  });

  it('a second document is reported where it starts', () => {
    const text = textOf('multiple-documents');
    expect(errorsOf('multiple-documents')).toEqual([{ path: '', ...positionIn(text, '---') }]);
  });
});
