/**
 * Environment overlays in the parse pipeline: one base and per-environment specs that override
 * it. What an author notices: the effective spec is the base with the overlay merged in (maps
 * merged, lists replaced, `null` removing), every error is placed in the file that wrote the
 * field, and the effective text is the same wherever it is computed, so its digest is too.
 */
import { describe, expect, it } from 'vitest';
import { effectiveText, mergePatch } from '../../specs/overlay.ts';
import { formatSpecError, type ParseSpecResult, parseSpec } from '../../specs/parse.ts';
import { repoFileExists, repoFileReader } from '../../specs/parse-file.ts';
import { REPO_ROOT, readRepoFile } from './helpers.ts';

const BASE = `apiVersion: modelship.dev/v1
kind: ModelDeploymentBase
metadata:
  name: iris
  owners: [alice]
spec:
  model:
    source: models/iris/v2/model.onnx
    sha256: ${'a'.repeat(64)}
  analysis:
    minRequests: 100
    errorRate: { max: 0.01 }
  rollout:
    steps:
      - setWeight: 10
      - setWeight: 100
  interface:
    inputs:
      - { name: input, dtype: float32, shape: [-1, 4] }
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
  validation:
    holdout: { path: models/iris/holdout.csv, labelColumn: label }
    metrics:
      accuracy: { min: 0.8 }
`;

const STAGING = `apiVersion: modelship.dev/v1
kind: ModelDeployment
extends: specs/iris/base.yaml
spec:
  rollout:
    environment: staging
`;

function parseWith(files: Record<string, string>, path: string): ParseSpecResult {
  const text = files[path];
  if (text === undefined) throw new Error(`no ${path} in the test's files`);
  return parseSpec(text, { file: path, readFile: (file) => files[file] });
}

function errorsOf(result: ParseSpecResult): string[] {
  return result.ok ? [] : result.errors.map(formatSpecError);
}

describe('the effective spec', () => {
  it('is the base with the overlay merged in', () => {
    const result = parseWith(
      { 'specs/iris/base.yaml': BASE, 'specs/iris/staging.yaml': STAGING },
      'specs/iris/staging.yaml',
    );
    expect(errorsOf(result)).toEqual([]);
    if (!result.ok) return;
    expect(result.spec.metadata.name).toBe('iris');
    expect(result.spec.spec.rollout.environment).toBe('staging');
    // The base's steps: the overlay's rollout map was merged, not replaced.
    expect(result.spec.spec.rollout.steps).toHaveLength(2);
    expect(result.spec.spec.analysis.errorRate.max).toBe(0.01);
  });

  it('replaces lists, merges maps and removes what the overlay sets to null', () => {
    const overlay = `apiVersion: modelship.dev/v1
kind: ModelDeployment
extends: specs/iris/base.yaml
spec:
  analysis:
    minRequests: 500
    errorRate: null
  rollout:
    environment: production
    steps:
      - setWeight: 100
`;
    const result = parseWith({ 'specs/iris/base.yaml': BASE, 'specs/prod.yaml': overlay }, 'specs/prod.yaml');
    expect(errorsOf(result)).toEqual([]);
    if (!result.ok) return;
    expect(result.spec.spec.rollout.steps).toEqual([{ type: 'setWeight', weight: 100 }]);
    expect(result.spec.spec.analysis.minRequests).toBe(500);
    // Removed from the base: the schema's default comes back, not the base's 0.01.
    expect(result.text).not.toContain('errorRate');
    expect(mergePatch({ a: { b: 1, c: [1, 2] } }, { a: { c: [3], d: null } })).toEqual({
      a: { b: 1, c: [3] },
    });
  });

  it('is plain spec text: it parses on its own, with no base, to the same spec', () => {
    const files = { 'specs/iris/base.yaml': BASE, 'specs/iris/staging.yaml': STAGING };
    const layered = parseWith(files, 'specs/iris/staging.yaml');
    if (!layered.ok) throw new Error(errorsOf(layered).join('\n'));
    expect(layered.text).not.toContain('extends');
    expect(layered.text).toContain('# modelship: a spec over its base specs/iris/base.yaml');
    const alone = parseSpec(layered.text);
    expect(alone.ok && alone.spec).toEqual(layered.spec);
  });

  it('has one text however the overlay file is named, and the loose reading agrees', () => {
    const files: Record<string, string> = { 'specs/iris/base.yaml': BASE };
    const read = (file: string) => files[file];
    const a = parseSpec(STAGING, { file: 'specs/iris/staging.yaml', readFile: read });
    const b = parseSpec(STAGING, { file: '/abs/checkout/specs/iris/staging.yaml', readFile: read });
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.text).toBe(b.text);
    expect(effectiveText(STAGING, read)).toBe(a.text);
    // A spec without a base is its own text, byte for byte: no digest of an existing spec moves.
    const flat = readRepoFile('specs/examples/iris.yaml');
    const parsed = parseSpec(flat, { readFile: read });
    expect(parsed.ok && parsed.text).toBe(flat);
    expect(effectiveText(flat, read)).toBe(flat);
  });

  it('parses for the shipped examples, production pinning its own artifact', () => {
    const parse = (path: string) =>
      parseSpec(readRepoFile(path), {
        file: path,
        fileExists: repoFileExists(REPO_ROOT),
        readFile: repoFileReader(REPO_ROOT),
      });
    const staging = parse('specs/examples/overlays/staging.yaml');
    const production = parse('specs/examples/overlays/production.yaml');
    expect([...errorsOf(staging), ...errorsOf(production)]).toEqual([]);
    if (!staging.ok || !production.ok) return;
    expect(staging.spec.spec.model.source).toBe('models/iris/v2/model.onnx');
    expect(production.spec.spec.model.source).toBe('models/iris/v1/model.onnx');
    expect(production.spec.spec.promotion?.from).toBe('staging');
    expect(production.spec.spec.analysis.minRequests).toBe(500);
    // Shared from the base, unchanged.
    expect(production.spec.spec.validation).toEqual(staging.spec.spec.validation);
    expect(production.spec.spec.monitoring).toEqual(staging.spec.spec.monitoring);
  });
});

describe('errors of a spec over a base', () => {
  it('are placed in the file that wrote the field', () => {
    const base = BASE.replace('    minRequests: 100', '    minRequests: -3\n    minRequets: 5');
    const overlay = STAGING.replace('    environment: staging', '    environment: Staging!');
    const result = parseWith(
      { 'specs/iris/base.yaml': base, 'specs/iris/staging.yaml': overlay },
      'specs/iris/staging.yaml',
    );
    const errors = errorsOf(result);
    expect(errors.find((line) => line.includes('minRequets'))).toMatch(/^specs\/iris\/base\.yaml:12:5 /);
    expect(errors.find((line) => line.includes('spec.analysis.minRequests:'))).toMatch(
      /^specs\/iris\/base\.yaml:11:18 /,
    );
    expect(errors.find((line) => line.includes('spec.rollout.environment'))).toMatch(
      /^specs\/iris\/staging\.yaml:6:18 /,
    );
  });

  it('place a field neither file wrote in the overlay, where it would go', () => {
    const base = BASE.replace('  rollout:\n    steps:\n      - setWeight: 10\n      - setWeight: 100\n', '');
    const result = parseWith(
      { 'specs/iris/base.yaml': base, 'specs/iris/staging.yaml': STAGING },
      'specs/iris/staging.yaml',
    );
    expect(errorsOf(result)).toEqual([
      'specs/iris/staging.yaml:6:5  spec.rollout.steps: missing required field',
    ]);
  });

  it.each([
    [
      'a missing base',
      { 'specs/x.yaml': STAGING },
      /^specs\/x\.yaml:3:10 {2}extends: no such file in the repository: specs\/iris\/base\.yaml$/,
    ],
    [
      'a base that climbs out of the repository',
      { 'specs/x.yaml': STAGING.replace('specs/iris/base.yaml', '../outside.yaml') },
      /^specs\/x\.yaml:3:10 {2}extends: "extends:" names the base spec by its path from the repository root/,
    ],
    [
      'an extends that is not a path',
      { 'specs/x.yaml': STAGING.replace('extends: specs/iris/base.yaml', 'extends: [a, b]') },
      /^specs\/x\.yaml:3:10 {2}extends: /,
    ],
    [
      'a base that is a deployable spec',
      {
        'specs/iris/base.yaml': BASE.replace('ModelDeploymentBase', 'ModelDeployment'),
        'specs/x.yaml': STAGING,
      },
      /^specs\/iris\/base\.yaml:2:7 {2}kind: a base spec declares kind: ModelDeploymentBase/,
    ],
    [
      'a base that extends another',
      { 'specs/iris/base.yaml': `extends: specs/other.yaml\n${BASE}`, 'specs/x.yaml': STAGING },
      /^specs\/iris\/base\.yaml:1:10 {2}extends: a base cannot extend another base/,
    ],
    [
      'a base of another language version',
      {
        'specs/iris/base.yaml': BASE.replace('modelship.dev/v1', 'modelship.dev/v2'),
        'specs/x.yaml': STAGING,
      },
      /^specs\/iris\/base\.yaml:1:13 {2}apiVersion: the base is modelship\.dev\/v2/,
    ],
    [
      'a base that is not YAML',
      { 'specs/iris/base.yaml': 'spec: [unclosed\n', 'specs/x.yaml': STAGING },
      /^specs\/iris\/base\.yaml:\d+:\d+ {2}invalid YAML/,
    ],
    [
      'a base that expands aliases past the limit',
      {
        'specs/iris/base.yaml': `kind: ModelDeploymentBase\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n`,
        'specs/x.yaml': STAGING,
      },
      /^specs\/iris\/base\.yaml:\d+:\d+ {2}invalid YAML/,
    ],
  ])('name what is wrong for %s', (_, files, expected) => {
    const result = parseWith(files as Record<string, string>, 'specs/x.yaml');
    expect(result.ok).toBe(false);
    expect(errorsOf(result)[0]).toMatch(expected);
  });

  it('report a __proto__ key as the unknown field it is, in either file', () => {
    const overlay = STAGING.replace('spec:\n', 'spec:\n  __proto__: { promotion: { from: dev } }\n');
    const base = BASE.replace('spec:\n', 'spec:\n  __proto__:\n    monitoring: { interval: 1m }\n');
    const result = parseWith({ 'specs/iris/base.yaml': base, 'specs/x.yaml': overlay }, 'specs/x.yaml');
    const errors = errorsOf(result);
    expect(
      errors.some(
        (line) => line.startsWith('specs/x.yaml:5:3') && line.includes('unknown field "__proto__"'),
      ),
    ).toBe(true);
    expect(result.ok).toBe(false);
    const merged = mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as object;
    expect(Object.keys(merged)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('say that a base is not deployed on its own', () => {
    expect(errorsOf(parseSpec(BASE, { file: 'specs/iris/base.yaml' }))).toEqual([
      'specs/iris/base.yaml:2:7  kind: a ModelDeploymentBase is not deployed on its own: it is checked through each spec that names it in "extends:"',
    ]);
  });

  it('say when there is no repository to read the base from', () => {
    expect(errorsOf(parseSpec(STAGING, { file: 'x.yaml' }))).toEqual([
      'x.yaml:3:10  extends: this spec extends specs/iris/base.yaml, and no repository was given to read it from',
    ]);
  });
});
