import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import { createValidateActivities, type ValidationReport } from '../../activities/validate.ts';
import { parseDuration } from '../../specs/duration.ts';
import type { ValidationSpec } from '../../specs/schema.ts';
import { unknownOperatorModel } from './onnx-fixtures.ts';
import {
  type CatalogDataset,
  dataset,
  deploymentRef,
  detailsOf,
  directoryTrees,
  exampleInterface,
  expectDomainFailure,
  REPO_ROOT,
  tempDir,
  testSources,
  version,
} from './support.ts';

type DatasetName = CatalogDataset['name'];

/** Thresholds a team would set for these data sets: meaningful accuracy, generous latency. */
function realisticValidation(name: DatasetName, metrics?: ValidationSpec['metrics']): ValidationSpec {
  return {
    holdout: { path: dataset(name).holdout.path, labelColumn: 'label', predictionOutput: 'label' },
    metrics: metrics ?? {
      accuracy: { min: 0.85 },
      f1Macro: { min: 0.85 },
      latencyP50: { max: '20ms', maxMs: 20 },
      latencyP99: { max: '100ms', maxMs: 100 },
    },
  };
}

const metric = (report: ValidationReport, name: string) => report.metrics.find((m) => m.name === name);

describe('validateModel', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  const artifacts = new Map<string, ResolvedArtifact>();
  let validateModel: ReturnType<typeof createValidateActivities>['validateModel'];

  /** The committed model, resolved into the temp store as the workflow would. */
  async function stored(name: DatasetName, versionName: string): Promise<ResolvedArtifact> {
    const key = `${name}/${versionName}`;
    const cached = artifacts.get(key);
    if (cached) return cached;
    const model = version(name, versionName);
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const artifact = await resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });
    artifacts.set(key, artifact);
    return artifact;
  }

  async function validate(name: DatasetName, versionName: string, validation = realisticValidation(name)) {
    return validateModel({
      deployment: deploymentRef(),
      artifact: await stored(name, versionName),
      interface: exampleInterface(name),
      validation,
    });
  }

  beforeAll(async () => {
    home = await tempDir('validate');
    ({ validateModel } = createValidateActivities({ home: home.path, ...testSources(home.path) }));
  });
  afterAll(async () => {
    await home.remove();
  });

  describe.each([
    ['iris', 'v1'],
    ['iris', 'v2'],
    ['breast-cancer', 'v1'],
    ['breast-cancer', 'v2'],
  ] as const)('%s %s', (name, versionName) => {
    it('passes realistic thresholds with the accuracy the catalog recorded', async () => {
      const report = await validate(name, versionName);
      expect(report.passed).toBe(true);
      expect(report.holdoutRows).toBe(dataset(name).holdout.rows);
      expect(report.interface).toEqual({ ok: true });
      expect(report.onnxruntimeVersion).toBe('1.30.0');
      expect(metric(report, 'accuracy')?.value).toBeCloseTo(version(name, versionName).holdout_accuracy, 3);
      expect(report.metrics.map((m) => [m.name, m.passed])).toEqual([
        ['accuracy', true],
        ['f1Macro', true],
        ['latencyP50', true],
        ['latencyP99', true],
      ]);
      expect(metric(report, 'accuracy')?.threshold).toEqual({ min: 0.85 });
      expect(metric(report, 'latencyP99')?.threshold).toEqual({ max: 100 });
      expect(report.latency.p50Ms).toBeGreaterThan(0);
      expect(report.latency.p99Ms).toBeGreaterThanOrEqual(report.latency.p50Ms);
      expect(report.latency.runs).toBeGreaterThanOrEqual(20);
      expect(metric(report, 'latencyP50')?.value).toBe(report.latency.p50Ms);
      // The holdout's reference profile rides along for packaging: one feature per column.
      expect(report.profile?.holdout).toEqual({
        path: dataset(name).holdout.path,
        sha256: report.holdoutSha256,
        rows: report.holdoutRows,
      });
      expect(report.profile?.features.map((f) => f.name)).toEqual(dataset(name).features);
      expect(report.profile?.metrics).toEqual({
        accuracy: metric(report, 'accuracy')?.value,
        f1Macro: metric(report, 'f1Macro')?.value,
      });
    });
  });

  it.each(['iris', 'breast-cancer'] as const)(
    '%s bad-accuracy fails with the metric and its threshold in the message',
    async (name) => {
      const failure = await expectDomainFailure(validate(name, 'bad-accuracy'), FailureType.ValidationFailed);
      const accuracy = version(name, 'bad-accuracy').holdout_accuracy;
      expect(failure.message).toContain(`accuracy ${accuracy} < min 0.85`);
      expect(failure.message).toMatch(/latencyP99 [\d.]+ms ok \(max 100ms\)/);
      const report = detailsOf<ValidationReport>(failure);
      expect(report.passed).toBe(false);
      expect(metric(report, 'accuracy')).toMatchObject({ passed: false, threshold: { min: 0.85 } });
      expect(report.profile, 'a failing report carries no profile').toBeUndefined();
    },
  );

  it.each([
    ['iris', 3, 4],
    ['breast-cancer', 29, 30],
  ] as const)('%s bad-interface fails naming the input dimension', async (name, have, want) => {
    const failure = await expectDomainFailure(validate(name, 'bad-interface'), FailureType.InterfaceMismatch);
    expect(failure.message).toContain(
      `input "input" dimension 1 is ${have} in the model, ${want} in the spec`,
    );
  });

  it('lists every interface difference at once', async () => {
    const iface = exampleInterface('iris');
    iface.inputs = [{ name: 'features', dtype: 'float32', shape: [-1, 4] }];
    iface.outputs = [
      { name: 'label', dtype: 'int32', shape: [-1] },
      { name: 'scores', dtype: 'float32', shape: [-1, 3] },
    ];
    const failure = await expectDomainFailure(
      validateModel({
        deployment: deploymentRef(),
        artifact: await stored('iris', 'v1'),
        interface: iface,
        validation: realisticValidation('iris'),
      }),
      FailureType.InterfaceMismatch,
    );
    expect(detailsOf<{ mismatches: string[] }>(failure).mismatches).toEqual([
      'input "features" is in the spec but not in the model (model inputs: "input")',
      'output "label" has dtype int64 in the model, int32 in the spec',
      'output "scores" is in the spec but not in the model (model outputs: "label", "probabilities")',
      'input "input" is required by the model but missing from the spec',
    ]);
  });

  it('fails a model far slower than the baseline on a latency budget the baseline meets', async () => {
    const baseline = await validate('iris', 'v1');
    // Ten times the baseline's own median: machine-independent, and bad-slow is ~100x slower.
    const budget = `${Math.max(0.05, baseline.latency.p50Ms * 10).toFixed(3)}ms`;
    const validation = realisticValidation('iris', {
      accuracy: { min: 0.85 },
      latencyP50: { max: budget, maxMs: parseDuration(budget) },
    });
    expect((await validate('iris', 'v1', validation)).passed).toBe(true);
    const failure = await expectDomainFailure(
      validate('iris', 'bad-slow', validation),
      FailureType.ValidationFailed,
    );
    expect(failure.message).toMatch(new RegExp(`latencyP50 [\\d.]+ms > max ${Number.parseFloat(budget)}ms`));
    expect(failure.message).toMatch(/accuracy [\d.]+ ok \(min 0\.85\)/);
  });

  it('refuses a prediction output that is not a class', async () => {
    const validation = realisticValidation('iris');
    validation.holdout.predictionOutput = 'probabilities';
    const failure = await expectDomainFailure(validate('iris', 'v1', validation), FailureType.InvalidSpec);
    expect(failure.message).toContain('prediction output "probabilities" is float32');
  });

  describe('with a scratch repository', () => {
    let repo: string;
    beforeAll(async () => {
      repo = join(home.path, 'repo');
      await mkdir(join(repo, 'data'), { recursive: true });
      await copyFile(join(REPO_ROOT, 'models/iris/holdout.csv'), join(repo, 'data/good.csv'));
      await writeFile(
        join(repo, 'data/bad.csv'),
        'a,b,c,d,label\n1,2,3,4,0\n1,2,x,4,1\n1,2,3,0\n1,2,3,4,1.5\n',
      );
    });
    const validation = (path: string): ValidationSpec => ({
      holdout: { path, labelColumn: 'label', predictionOutput: 'label' },
      metrics: {},
    });
    const run = async (path: string, artifact?: ResolvedArtifact) =>
      validateModel({
        deployment: deploymentRef(repo),
        artifact: artifact ?? (await stored('iris', 'v1')),
        interface: exampleInterface('iris'),
        validation: validation(path),
      });

    it('reports without judging when the spec sets no thresholds', async () => {
      const report = await run('data/good.csv');
      expect(report.passed).toBe(true);
      expect(report.metrics.every((m) => m.threshold === undefined && m.passed)).toBe(true);
    });

    it('names every bad line of the holdout CSV', async () => {
      const failure = await expectDomainFailure(run('data/bad.csv'), FailureType.InvalidHoldout);
      expect(failure.message).toContain('data/bad.csv: line 3, column "c": "x" is not a number');
      expect(failure.message).toContain('data/bad.csv: line 4: expected 5 columns, found 4');
      expect(failure.message).toContain(
        'data/bad.csv: line 5, column "label": label 1.5 is not an integer class',
      );
    });

    it('reports a missing holdout file and a path outside the repository', async () => {
      const missing = await expectDomainFailure(run('data/none.csv'), FailureType.ArtifactNotFound);
      // The path in the repository, not on this worker's disk: the reader may run on another machine.
      expect(missing.message).toContain(
        `holdout file "data/none.csv" does not exist in the deployment's commit`,
      );
      await expectDomainFailure(run('../outside.csv'), FailureType.InvalidSpec);
    });

    async function storedBytes(name: string, bytes: Uint8Array | string): Promise<ResolvedArtifact> {
      await writeFile(join(repo, name), bytes);
      const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      return resolveArtifact({ deployment: deploymentRef(repo), source: name, sha256 });
    }

    it('refuses to load a file that does not pass the scan', async () => {
      const artifact = await storedBytes('garbage.onnx', 'this is not an onnx model');
      const failure = await expectDomainFailure(run('data/good.csv', artifact), FailureType.ScanFailed);
      expect(failure.message).toMatch(
        /^scan of "garbage\.onnx" \(sha256 [0-9a-f]{12}…\) found \d+ error\(s\): structure: /,
      );
    });

    it('reports a model that passes the scan but onnxruntime cannot load as ModelUnloadable', async () => {
      const artifact = await storedBytes('mystery.onnx', unknownOperatorModel());
      const failure = await expectDomainFailure(run('data/good.csv', artifact), FailureType.ModelUnloadable);
      expect(failure.message).toContain('onnxruntime 1.30.0 cannot load "mystery.onnx"');
      expect(failure.message).toContain('No Op registered for NoSuchOperator');
    });
  });
});
