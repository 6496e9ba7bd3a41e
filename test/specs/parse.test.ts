/** The parse pipeline as callers use it: results, defaults, error format, and file reading. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { parseSpecFile } from '../../specs/parse-file.ts';
import { positionOf } from '../../specs/yaml-source.ts';
import { parseRepoSpec, positionIn, REPO_ROOT, readRepoFile } from './helpers.ts';

const MINIMAL = 'test/fixtures/specs/valid/minimal.yaml';

describe('parseSpec', () => {
  it('applies every default', () => {
    const result = parseRepoSpec(MINIMAL);
    if (!result.ok) throw new Error(result.errors.map(formatSpecError).join('\n'));
    const { spec } = result.spec;
    expect(spec.model.format).toBe('onnx');
    expect(spec.validation.holdout).toEqual({
      path: 'models/breast-cancer/holdout.csv',
      labelColumn: 'label',
      predictionOutput: 'label',
    });
    expect(spec.analysis).toEqual({
      judge: 'sequential',
      alpha: 0.01,
      minEffect: 0.25,
      maxExtensions: 3,
      minRequests: 100,
      errorRate: { max: 0.01 },
      latencyP99: { maxRatioToStable: 1.5 },
      disagreement: { max: 0.05 },
    });
    expect(spec.security).toEqual({ signedBy: [] });
    expect(spec.provenance).toBeUndefined();
  });

  it('turns steps into a tagged union with step defaults filled in', () => {
    const text = readRepoFile(MINIMAL).replace(
      '      - setWeight: 100\n',
      [
        '      - shadow: { duration: 5m }',
        '      - setWeight: 50',
        '      - analysis: { duration: 5m }',
        '      - approval: { approvers: [bob] }',
        '      - setWeight: 100',
        '',
      ].join('\n'),
    );
    const result = parseSpec(text);
    if (!result.ok) throw new Error(result.errors.map(formatSpecError).join('\n'));
    expect(result.spec.spec.rollout.steps).toEqual([
      { type: 'shadow', duration: '5m', durationMs: 300_000, minAgreement: 0.98 },
      { type: 'setWeight', weight: 50 },
      { type: 'analysis', duration: '5m', durationMs: 300_000, interval: '10s', intervalMs: 10_000 },
      { type: 'approval', approvers: ['bob'], timeout: '24h', timeoutMs: 86_400_000 },
      { type: 'setWeight', weight: 100 },
    ]);
  });

  it('keeps the document, so later stages can place their findings', () => {
    const result = parseRepoSpec(MINIMAL);
    if (!result.ok) throw new Error('minimal fixture did not parse');
    expect(positionOf(result.source, ['spec', 'rollout', 'steps', 0, 'setWeight'])).toEqual(
      positionIn(readRepoFile(MINIMAL), '100'),
    );
  });

  it('names errors after the file option, or <input>', () => {
    const broken = 'apiVersion: 1\n';
    const named = parseSpec(broken, { file: 'specs/iris.yaml' });
    const unnamed = parseSpec(broken);
    expect(!named.ok && named.errors[0]?.file).toBe('specs/iris.yaml');
    expect(!unnamed.ok && unnamed.errors[0]?.file).toBe('<input>');
  });

  it('lists errors in file order, whatever step found them', () => {
    const result = parseRepoSpec('test/fixtures/specs/invalid/yaml-and-schema-errors.yaml');
    if (result.ok) throw new Error('parsed');
    const lines = result.errors.map((error) => error.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('runs the rules only once the schema passes', () => {
    // Decreasing weights (a rule) plus a bad dtype (the schema): only the schema error shows.
    const text = readRepoFile('test/fixtures/specs/invalid/weights-not-increasing.yaml').replace(
      'dtype: int64',
      'dtype: int',
    );
    const result = parseSpec(text);
    expect(result.ok ? [] : result.errors.map((error) => error.path)).toEqual([
      'spec.interface.outputs.0.dtype',
    ]);
  });

  it('names the rule behind a rule error', () => {
    const result = parseRepoSpec('test/fixtures/specs/invalid/weights-not-increasing.yaml');
    expect(result.ok ? [] : result.errors.map((error) => error.rule)).toEqual(['weights-increase']);
  });

  it('checks file existence only when it is given a way to', () => {
    const text = readRepoFile('test/fixtures/specs/invalid/missing-model-file.yaml');
    expect(parseSpec(text).ok).toBe(true);
    expect(parseSpec(text, { fileExists: () => false }).ok).toBe(false);
  });

  it.each([
    ['a scalar', 'just text'],
    ['flow garbage', '{{{'],
    ['a lone colon', ':'],
    ['an undefined alias', 'apiVersion: *nowhere\n'],
    ['a tab indent', 'metadata:\n\tname: x\n'],
    ['a binary scalar', 'apiVersion: !!binary aGVsbG8=\n'],
  ])('reports %s as errors instead of throwing', (_, text) => {
    const result = parseSpec(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
  });

  it('reports an alias to a missing anchor where the alias is', () => {
    const result = parseSpec('apiVersion: modelship.dev/v1\nkind: *nowhere\n', { file: 'a.yaml' });
    expect(result.ok ? [] : result.errors.map(formatSpecError)).toEqual([
      'a.yaml:2:7  invalid YAML: unresolved alias (the anchor must be set before the alias): nowhere',
    ]);
  });
});

describe('formatSpecError', () => {
  it('prints file:line:column, two spaces, then path: message', () => {
    expect(
      formatSpecError({
        file: 'specs/iris.yaml',
        line: 31,
        column: 20,
        path: 'spec.rollout.steps.2.setWeight',
        message: 'must be greater than the previous setWeight (50)',
        rule: 'weights-increase',
      }),
    ).toBe(
      'specs/iris.yaml:31:20  spec.rollout.steps.2.setWeight: must be greater than the previous setWeight (50)',
    );
  });

  it('leaves the path out for errors about the file itself', () => {
    expect(formatSpecError({ file: 'a.yaml', line: 1, column: 1, path: '', message: 'empty file' })).toBe(
      'a.yaml:1:1  empty file',
    );
  });
});

describe('parseSpecFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-specs-'));
  const missingModel = join(dir, 'missing-model.yaml');
  writeFileSync(missingModel, readRepoFile('test/fixtures/specs/invalid/missing-model-file.yaml'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checks files against the repository root it is given', async () => {
    const result = await parseSpecFile(missingModel, { repoRoot: REPO_ROOT });
    expect(result.ok ? [] : result.errors.map((error) => [error.file, error.message])).toEqual([
      [missingModel, 'no such file in the repository: models/iris/v9/model.onnx'],
    ]);
    const iris = await parseSpecFile(join(REPO_ROOT, 'specs/examples/iris.yaml'), { repoRoot: REPO_ROOT });
    // The text comes back with the spec, so callers record exactly what they deploy.
    expect(iris.ok && iris.source.text).toBe(readRepoFile('specs/examples/iris.yaml'));
  });

  it('does not check files without a repository root', async () => {
    expect((await parseSpecFile(missingModel)).ok).toBe(true);
  });

  it('counts a directory as a missing file', async () => {
    mkdirSync(join(dir, 'models/iris/v9/model.onnx'), { recursive: true });
    const result = await parseSpecFile(missingModel, { repoRoot: dir });
    expect(result.ok ? [] : result.errors.map((error) => error.message)).toContain(
      'no such file in the repository: models/iris/v9/model.onnx',
    );
  });

  it('rejects with the fs error when the file cannot be read', async () => {
    await expect(parseSpecFile(join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
