import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import { createValidateActivities, type ValidateDeps } from '../../activities/validate.ts';
import { ModelError, ModelErrorKind } from '../../model/errors.ts';
import { parseHoldoutCsv } from '../../model/holdout.ts';
import { memoryBound, runModelIsolated } from '../../model/isolation.ts';
import { encodeModel } from '../../model/proto.ts';
import type { ValidationSpec } from '../../specs/schema.ts';
import { hangingModel, memoryHungryModel } from './onnx-fixtures.ts';
import {
  deploymentRef,
  directoryTrees,
  expectDomainFailure,
  REPO_ROOT,
  tempDir,
  testSources,
} from './support.ts';

const GiB = 1024 ** 3;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The interface of the iris-shaped fixtures: float [N, 4] in, int64 label [N] out. */
const IRIS_SHAPED = {
  inputs: [{ name: 'input', dtype: 'float32' as const, shape: [-1, 4] }],
  outputs: [{ name: 'label', dtype: 'int64' as const, shape: [-1] }],
};
const VALIDATION: ValidationSpec = {
  holdout: { path: 'data/holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
  metrics: {},
};

describe('validation runs onnxruntime in a limited child process', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  beforeAll(async () => {
    home = await tempDir('validate-isolation');
    repo = join(home.path, 'repo');
    await mkdir(join(repo, 'data'), { recursive: true });
    await copyFile(join(REPO_ROOT, 'models/iris/holdout.csv'), join(repo, 'data/holdout.csv'));
  });
  afterAll(async () => {
    await home.remove();
  });

  /** Commits `bytes` to the scratch repository and resolves them into the store, as the workflow would. */
  async function stored(name: string, bytes: Uint8Array): Promise<ResolvedArtifact> {
    await writeFile(join(repo, name), bytes);
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    return resolveArtifact({ deployment: deploymentRef(repo), source: name, sha256: sha256(bytes) });
  }

  async function validate(artifact: ResolvedArtifact, deps: Partial<ValidateDeps> = {}) {
    const { validateModel } = createValidateActivities({
      home: home.path,
      ...testSources(home.path),
      latency: { budgetMs: 200 },
      ...deps,
    });
    return validateModel({
      deployment: deploymentRef(repo),
      artifact,
      interface: IRIS_SHAPED,
      validation: VALIDATION,
    });
  }

  it('bounds memory with prlimit on Linux', async () => {
    expect(await memoryBound()).toBe(process.platform === 'linux' ? 'prlimit' : 'rss-watchdog');
  });

  it('kills a model that never finishes at the time limit', async () => {
    const artifact = await stored('hanging.onnx', hangingModel());
    const started = Date.now();
    const failure = await expectDomainFailure(
      validate(artifact, { isolation: { timeoutMs: 6000 } }),
      FailureType.ModelUnloadable,
    );
    expect(failure.message).toBe(
      `model "hanging.onnx" (sha256 ${artifact.sha256.slice(0, 12)}…) did not finish validation within 6 s: onnxruntime was still running the holdout through it when its process was killed`,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('stops a model that needs 3 GB under a 2 GiB limit, and runs the same model at a small size', async () => {
    const small = await stored('small.onnx', memoryHungryModel(1000));
    expect((await validate(small, { isolation: { memoryBytes: 2 * GiB } })).passed).toBe(true);

    const big = await stored('big.onnx', memoryHungryModel(27_386));
    const failure = await expectDomainFailure(
      validate(big, { isolation: { memoryBytes: 2 * GiB } }),
      FailureType.ModelUnloadable,
    );
    expect(failure.message).toContain('the model fails to run on holdout rows 1-45');
    expect(failure.message).toContain('Failed to allocate memory for requested buffer of size 2999972096');
  }, 30_000);

  it('kills the child past the limit with the resident-memory watchdog where prlimit is missing', async () => {
    const path = join(home.path, 'watchdog', 'model.onnx');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, memoryHungryModel(27_386));
    const holdout = parseHoldoutCsv(
      await readFile(join(repo, 'data/holdout.csv'), 'utf8'),
      'label',
      'holdout',
    );
    if (!holdout.ok) throw new Error(holdout.errors.join('; '));
    const run = runModelIsolated(
      {
        modelPath: path,
        label: '"watchdog"',
        interface: IRIS_SHAPED,
        validation: VALIDATION,
        holdout: holdout.data,
        batchSize: 256,
        latency: {},
      },
      {
        limits: { timeoutMs: 60_000, memoryBytes: 2 * GiB },
        onProgress: () => {},
        memoryBound: 'rss-watchdog',
      },
    );
    // The library itself throws a plain typed error; the activity turns it into a domain failure.
    const failure = await run.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ModelError);
    expect((failure as ModelError).kind).toBe(ModelErrorKind.ModelUnloadable);
    expect((failure as ModelError).message).toBe(
      'model "watchdog" made onnxruntime use more than 2048 MiB while running the holdout through it; its process was killed',
    );
  }, 70_000);

  it('loads the model alone: external data beside the stored artifact is out of its reach', async () => {
    const withWeights = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'main',
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
        initializer: [
          {
            name: 'W',
            dims: [4],
            dataType: 1,
            dataLocation: 1,
            externalData: [
              { key: 'location', value: 'weights.bin' },
              { key: 'length', value: '16' },
            ],
          },
        ],
        node: [{ opType: 'Add', input: ['x', 'W'], output: ['y'] }],
      },
    });
    const artifact = await stored('external.onnx', withWeights);
    // A file the model names, planted in the store next to the artifact.
    await writeFile(join(dirname(artifact.path), 'weights.bin'), new Uint8Array(16));
    const failure = await expectDomainFailure(validate(artifact), FailureType.ModelUnloadable);
    expect(failure.message).toContain('cannot load "external.onnx"');
    expect(failure.message).toContain('weights.bin');
  });
});
