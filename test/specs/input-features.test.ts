/**
 * `spec.interface.inputs[].features` and `onViolation`: the data-quality constraints the data
 * plane checks at the door. Each error names the field path and its line and column, found by
 * hand in the text.
 */
import { describe, expect, it } from 'vitest';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { positionIn } from './helpers.ts';

const INPUT_LINE = '      - { name: input, dtype: float32, shape: [-1, 4] }\n';

/** The iris example spec with its input replaced by `input` (YAML list item, indented by 6). */
function specWithInput(input: string): string {
  const base = exampleSpecYaml({ dataset: 'iris', version: 'v1' });
  expect(base).toContain(INPUT_LINE);
  return base.replace(INPUT_LINE, input);
}

function errorsOf(text: string) {
  const parsed = parseSpec(text, { file: 'specs/iris.yaml' });
  if (parsed.ok) throw new Error('the spec parsed');
  return parsed.errors.map((error) => ({ ...error, text: formatSpecError(error) }));
}

const FOUR = `      - name: input
        dtype: float32
        shape: [-1, 4]
        features:
          - { name: sepal_length, min: 4.0, max: 8.5 }
          - { name: sepal_width, max: 5 }
          - { name: petal_length, min: 0, max: 8, missing: allow }
          - { name: petal_width, allowed: [0, 1, 2] }
        onViolation: reject
`;

describe('input features', () => {
  it('parses constraints, missing defaulting to deny; a spec without them is unchanged', () => {
    const parsed = parseSpec(specWithInput(FOUR), { file: 'specs/iris.yaml' });
    if (!parsed.ok) throw new Error(parsed.errors.map(formatSpecError).join('\n'));
    const [input] = parsed.spec.spec.interface.inputs;
    expect(input?.onViolation).toBe('reject');
    expect(input?.features).toEqual([
      { name: 'sepal_length', min: 4, max: 8.5, missing: 'deny' },
      { name: 'sepal_width', max: 5, missing: 'deny' },
      { name: 'petal_length', min: 0, max: 8, missing: 'allow' },
      { name: 'petal_width', allowed: [0, 1, 2], missing: 'deny' },
    ]);
    const plain = parseSpec(exampleSpecYaml({ dataset: 'iris', version: 'v1' }), { file: 'specs/iris.yaml' });
    if (!plain.ok) throw new Error('the example spec does not parse');
    expect(plain.spec.spec.interface.inputs[0]).toEqual({ name: 'input', dtype: 'float32', shape: [-1, 4] });
  });

  it('accepts a dynamic width, which the features then fix', () => {
    const text = specWithInput(FOUR.replace('shape: [-1, 4]', 'shape: [-1, -1]'));
    expect(parseSpec(text, { file: 'specs/iris.yaml' }).ok).toBe(true);
  });

  it('refuses a column count other than the input width, at the features list', () => {
    const text = specWithInput(FOUR.replace('shape: [-1, 4]', 'shape: [-1, 5]'));
    expect(errorsOf(text)).toMatchObject([
      {
        path: 'spec.interface.inputs.0.features',
        message: 'lists 4 columns, but shape [-1, 5] has 5: one entry per column',
        ...positionIn(text, '- { name: sepal_length'),
      },
    ]);
  });

  it('refuses features on an input that is not 2-D, or not numeric', () => {
    const threeD = specWithInput(FOUR.replace('shape: [-1, 4]', 'shape: [-1, 2, 2]'));
    expect(errorsOf(threeD).map((e) => e.message)).toEqual([
      'need a 2-D input [-1, n] (rows of n columns); shape [-1, 2, 2] has 3 dimensions',
    ]);
    const strings = specWithInput(
      FOUR.replace('dtype: float32', 'dtype: string').replace(', missing: allow', ''),
    );
    expect(errorsOf(strings).map((e) => e.text)).toEqual([
      `specs/iris.yaml:${positionIn(strings, '- { name: sepal_length').line}:${positionIn(strings, '- { name: sepal_length').column}  spec.interface.inputs.0.features: describe the columns of a numeric input; "input" is string`,
    ]);
  });

  it('refuses a repeated name, min above max, and allowed with a range, each where it is written', () => {
    const text = specWithInput(`      - name: input
        dtype: float32
        shape: [-1, 4]
        features:
          - { name: a, min: 4, max: 8 }
          - { name: a, min: 9, max: 3 }
          - { name: c, allowed: [1, 2], max: 3 }
          - { name: d }
`);
    expect(
      errorsOf(text).map(({ path, message, line, column }) => ({ path, message, line, column })),
    ).toEqual([
      {
        path: 'spec.interface.inputs.0.features.1.name',
        message: 'duplicate feature name "a" (also features.0)',
        ...positionIn(text, 'a, min: 9'),
      },
      {
        path: 'spec.interface.inputs.0.features.1.min',
        message: '9 is above max 3: no value could pass',
        ...positionIn(text, '9, max: 3'),
      },
      {
        path: 'spec.interface.inputs.0.features.2.allowed',
        message: 'cannot be combined with min or max: give the allowed values, or a range',
        ...positionIn(text, '[1, 2]'),
      },
    ]);
  });

  it('refuses an empty allowed list and unknown keys through the schema, with positions', () => {
    const text = specWithInput(
      FOUR.replace('allowed: [0, 1, 2]', 'allowed: []').replace('max: 5 }', 'maxx: 5 }'),
    );
    expect(errorsOf(text).map((e) => e.text)).toEqual([
      `specs/iris.yaml:${positionIn(text, 'maxx').line}:${positionIn(text, 'maxx').column}  spec.interface.inputs.0.features.1.maxx: unknown field "maxx"; did you mean "max"?`,
      `specs/iris.yaml:${positionIn(text, '[]').line}:${positionIn(text, '[]').column}  spec.interface.inputs.0.features.3.allowed: must list at least one value`,
    ]);
  });

  it('allows missing values only in float inputs, and onViolation only with features', () => {
    const ints = specWithInput(FOUR.replace('dtype: float32', 'dtype: int64'));
    expect(errorsOf(ints)).toMatchObject([
      {
        path: 'spec.interface.inputs.0.features.2.missing',
        message: 'allow needs a float input (a missing value is fed to the model as NaN); "input" is int64',
        ...positionIn(ints, 'allow }'),
      },
    ]);
    const alone = specWithInput(`      - name: input
        dtype: float32
        shape: [-1, 4]
        onViolation: reject
`);
    expect(errorsOf(alone)).toMatchObject([
      {
        path: 'spec.interface.inputs.0.onViolation',
        message: 'applies to features, and this input lists none',
        ...positionIn(alone, 'reject'),
      },
    ]);
  });

  it('refuses an unknown onViolation and missing mode', () => {
    const text = specWithInput(
      FOUR.replace('onViolation: reject', 'onViolation: drop').replace('missing: allow', 'missing: maybe'),
    );
    expect(errorsOf(text).map((e) => e.path)).toEqual([
      'spec.interface.inputs.0.features.2.missing',
      'spec.interface.inputs.0.onViolation',
    ]);
  });
});
