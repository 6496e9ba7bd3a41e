/**
 * Rules and locations at unit level, for the cases the fixtures do not spell out: URIs, path
 * normalisation, boundaries (equal weights, equal durations) and reporting each mistake once.
 */
import { describe, expect, it } from 'vitest';
import { checkModelSource, checkRepoPath, normalizeRepoPath } from '../../specs/locations.ts';
import { checkRules, RULES } from '../../specs/rules.ts';
import { type ModelDeploymentInput, ModelDeploymentSchema } from '../../specs/schema.ts';

type StepInput = ModelDeploymentInput['spec']['rollout']['steps'][number];

/** A spec that passes every rule, with `steps` swapped in. */
function specWith(steps: StepInput[]) {
  return ModelDeploymentSchema.parse({
    apiVersion: 'modelship.dev/v1',
    kind: 'ModelDeployment',
    metadata: { name: 'iris', owners: ['alice'] },
    spec: {
      model: { source: 'models/iris/v2/model.onnx', sha256: 'a'.repeat(64) },
      interface: {
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
      },
      validation: { holdout: { path: 'models/iris/holdout.csv' }, metrics: {} },
      rollout: { environment: 'staging', steps },
    },
  });
}

/** `rule path: message` lines, the way a reviewer reads them. */
function findings(steps: StepInput[]): string[] {
  return checkRules(specWith(steps)).map(
    ({ rule, path, message }) => `${rule} ${path.join('.')}: ${message}`,
  );
}

describe('rollout rules', () => {
  it('accept a plain canary', () => {
    expect(findings([{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 100 }])).toEqual([]);
  });

  it('reject a repeated weight: weights strictly increase', () => {
    expect(findings([{ setWeight: 20 }, { setWeight: 20 }, { setWeight: 100 }])).toEqual([
      'weights-increase spec.rollout.steps.1.setWeight: must be greater than the previous setWeight (20)',
    ]);
  });

  it('report a step after full weight once, as such', () => {
    expect(findings([{ setWeight: 100 }, { setWeight: 100 }])).toEqual([
      'nothing-after-full-weight spec.rollout.steps.1.setWeight: comes after setWeight: 100 (steps.0), when the candidate already has all traffic; only pause or approval may follow',
    ]);
  });

  it('report a lower weight after full weight once', () => {
    expect(findings([{ setWeight: 10 }, { setWeight: 100 }, { setWeight: 50 }])).toEqual([
      'nothing-after-full-weight spec.rollout.steps.2.setWeight: comes after setWeight: 100 (steps.1), when the candidate already has all traffic; only pause or approval may follow',
    ]);
  });

  it('allow waiting steps after full weight', () => {
    expect(
      findings([{ setWeight: 100 }, { pause: { duration: '1m' } }, { approval: { approvers: ['alice'] } }]),
    ).toEqual([]);
  });

  it('reject an analysis after full weight: stable has no traffic left to compare with', () => {
    expect(findings([{ setWeight: 100 }, { analysis: { duration: '5m' } }])).toEqual([
      'nothing-after-full-weight spec.rollout.steps.1.analysis: comes after setWeight: 100 (steps.0): stable gets no traffic then, so there is nothing to compare the candidate with; analyse before the last setWeight',
    ]);
  });

  it('reject an analysis before the candidate gets any traffic', () => {
    expect(findings([{ analysis: { duration: '5m' } }, { setWeight: 100 }])).toEqual([
      'analysis-has-traffic spec.rollout.steps.0.analysis: comes before any setWeight above 0, so the candidate gets no traffic to judge; use shadow to compare without traffic, or move it after a setWeight',
    ]);
  });

  it('reject an interval equal to the duration', () => {
    expect(
      findings([{ setWeight: 10 }, { analysis: { duration: '1m', interval: '60s' } }, { setWeight: 100 }]),
    ).toEqual([
      "analysis-interval spec.rollout.steps.1.analysis.interval: interval 60s must be shorter than the step's duration (1m)",
    ]);
  });

  it('reject zero-length waits', () => {
    expect(findings([{ pause: { duration: '0ms' } }, { setWeight: 100 }])).toEqual([
      'durations-positive spec.rollout.steps.0.pause.duration: must be longer than 0',
    ]);
  });

  it('all have distinct names', () => {
    const names = RULES.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('model source', () => {
  const exists = () => true;
  const missing = () => false;

  it.each([
    ['models/iris/v2/model.onnx', undefined],
    ['./models/iris/v2/model.onnx', undefined],
    ['https://models.example.com/iris/v2/model.onnx', undefined],
    ['HTTPS://models.example.com/iris.onnx', undefined],
    ['file:///srv/models/iris.onnx', undefined],
    ['file://localhost/srv/models/iris.onnx', undefined],
    ['https://', 'an https:// URI needs a host and a path'],
    ['https://models.example.com', 'an https:// URI needs a host and a path'],
    ['file://srv/models/iris.onnx', 'a file:// URI needs an absolute path: file:///path/to/model.onnx'],
    [`oci://registry.example.com:5000/ml/iris@sha256:${'ab'.repeat(32)}`, undefined],
    [
      'oci://registry.example.com/ml/iris:v2',
      'an oci:// source is oci://registry/repository@sha256:<64 hex digits> (by digest: a tag can be moved)',
    ],
    [
      `oci://registry.example.com/ML/Iris@sha256:${'ab'.repeat(32)}`,
      'an oci:// source is oci://registry/repository@sha256:<64 hex digits> (by digest: a tag can be moved)',
    ],
    [
      'http://models.example.com/iris.onnx',
      'unsupported URI scheme "http:"; use file://, https://, oci://, or a path relative to the repository root',
    ],
    [
      's3://bucket/iris.onnx',
      'unsupported URI scheme "s3:"; use file://, https://, oci://, or a path relative to the repository root',
    ],
    ['/srv/models/iris.onnx', 'must be relative to the repository root, not an absolute path'],
    ['C:\\models\\iris.onnx', 'must be relative to the repository root, not an absolute path'],
    ['models/../../iris.onnx', 'must stay inside the repository: ".." climbs out of the repository root'],
    ['.', 'must name a file, not the repository root'],
  ])('%s → %s', (source, message) => {
    expect(checkModelSource(source, exists)).toBe(message);
  });

  it('checks that a file:// path exists, with the decoded path', () => {
    const asked: string[] = [];
    const record = (path: string) => {
      asked.push(path);
      return false;
    };
    expect(checkModelSource('file:///srv/my%20models/iris.onnx', record)).toBe(
      'no such file: /srv/my models/iris.onnx',
    );
    expect(asked).toEqual(['/srv/my models/iris.onnx']);
  });

  it('checks a repository path after normalising it', () => {
    expect(checkModelSource('models/./iris//v9/model.onnx', missing)).toBe(
      'no such file in the repository: models/iris/v9/model.onnx',
    );
  });

  it('never asks about https sources: they are fetched later, pinned by digest', () => {
    expect(checkModelSource('https://models.example.com/iris.onnx', missing)).toBeUndefined();
  });
});

describe('repository paths', () => {
  it('reject URIs where only a repository file makes sense', () => {
    expect(checkRepoPath('https://example.com/holdout.csv')).toBe(
      'must be a path relative to the repository root, not a URI',
    );
  });

  it.each([
    ['models/iris/holdout.csv', 'models/iris/holdout.csv'],
    ['models//iris/./holdout.csv', 'models/iris/holdout.csv'],
    ['models/iris/../breast-cancer/holdout.csv', 'models/breast-cancer/holdout.csv'],
    ['models\\iris\\holdout.csv', 'models/iris/holdout.csv'],
    ['models/../../holdout.csv', undefined],
    ['..', undefined],
  ])('normalise %s → %s', (path, normalized) => {
    expect(normalizeRepoPath(path)).toBe(normalized);
  });
});
