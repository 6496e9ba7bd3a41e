import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleDigest } from '../../activities/package.ts';
import type { BundleFile } from '../../domain/bundle-format.ts';
import {
  buildProvenance,
  DEFAULT_BUILDER_ID,
  type ProvenanceInput,
} from '../../supply-chain/evidence/provenance.ts';
import { validateProvenance } from '../../supply-chain/evidence/provenance-schema.ts';
import { REPO_ROOT, version } from '../activities/support.ts';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const COMMIT = '4cbea6a0c1d2e3f405162738495a6b7c8d9e0f10';
const TRAINING_CODE_COMMIT = '134bde6f00112233445566778899aabbccddeeff';
const REPOSITORY = 'https://git.example.com/ml/models.git';

let input: ProvenanceInput;
let trainScriptSha: string;

/** A bundle of the real iris v1 model and the real example spec, as `packageModel` lists it. */
beforeAll(async () => {
  const v1 = version('iris', 'v1');
  const specText = await readFile(join(REPO_ROOT, 'specs/examples/iris.yaml'), 'utf8');
  trainScriptSha = sha256(await readFile(join(REPO_ROOT, 'models/train.py')));
  const files: BundleFile[] = [
    { path: 'model.onnx', sha256: v1.sha256, sizeBytes: v1.size_bytes },
    { path: 'spec.yaml', sha256: sha256(specText), sizeBytes: Buffer.byteLength(specText) },
  ];
  input = {
    model: 'iris',
    environment: 'staging',
    spec: { path: 'specs/iris.yaml', commit: COMMIT, repository: REPOSITORY },
    bundle: { digest: bundleDigest(files, COMMIT), files },
    artifact: { source: v1.path, sha256: v1.sha256 },
    provenance: {
      trainingData: [
        { uri: 'https://archive.ics.uci.edu/dataset/53/iris', sha256: sha256('iris.data') },
        { uri: 'sklearn.datasets.load_iris' },
      ],
      trainingCode: [{ uri: 'models/train.py', sha256: trainScriptSha, commit: TRAINING_CODE_COMMIT }],
    },
    holdout: {
      path: 'models/iris/holdout.csv',
      sha256: sha256(await readFile(join(REPO_ROOT, 'models/iris/holdout.csv'))),
    },
    versions: {
      modelship: '0.1.0',
      onnxruntime: '1.30.0',
      scanners: { secretlint: '12.0.0', 'modelship-onnx-scan': '0.1.0' },
    },
    run: { workflowId: 'rollout-iris-staging-4cbea6a', runId: '0197a3c2-7d1e-7c4e-9b1a-3f2e1d0c9b8a' },
    startedOn: '2025-06-01T12:00:00Z',
    finishedOn: '2025-06-01T12:00:04.250Z',
  };
});

const named = (statement: ReturnType<typeof buildProvenance>, name: string) =>
  statement.predicate.buildDefinition.resolvedDependencies.filter((dep) => dep.name === name);

describe('buildProvenance', () => {
  it('is an in-toto Statement v1 about the bundle files, with a SLSA v1 predicate that validates', () => {
    const statement = buildProvenance(input);
    expect(validateProvenance(statement)).toEqual([]);
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(statement.subject).toEqual([
      {
        name: 'model.onnx',
        digest: { sha256: '1acf5d8e39d76cac9fb852534cbaa44c40bd1f91643d6478c3cc5153d299f6f0' },
      },
      { name: 'spec.yaml', digest: { sha256: input.bundle.files[1]?.sha256 } },
    ]);
    expect(statement.predicate.buildDefinition).toMatchObject({
      buildType: 'https://modelship.dev/package/v1',
      externalParameters: {
        specPath: 'specs/iris.yaml',
        commit: COMMIT,
        repository: REPOSITORY,
        environment: 'staging',
      },
      internalParameters: {
        onnxruntimeVersion: '1.30.0',
        scanners: { 'modelship-onnx-scan': '0.1.0', secretlint: '12.0.0' },
      },
    });
    expect(statement.predicate.runDetails).toEqual({
      builder: { id: DEFAULT_BUILDER_ID, version: { modelship: '0.1.0' } },
      metadata: {
        invocationId: 'rollout-iris-staging-4cbea6a/0197a3c2-7d1e-7c4e-9b1a-3f2e1d0c9b8a',
        startedOn: '2025-06-01T12:00:00Z',
        finishedOn: '2025-06-01T12:00:04.250Z',
      },
    });
  });

  it('pins the model, the spec commit and the holdout it resolved', () => {
    const statement = buildProvenance(input);
    expect(named(statement, 'model')).toEqual([
      {
        name: 'model',
        uri: `git+${REPOSITORY}@${COMMIT}#models/iris/v1/model.onnx`,
        digest: { sha256: version('iris', 'v1').sha256 },
      },
    ]);
    expect(named(statement, 'spec-repository')).toEqual([
      { name: 'spec-repository', uri: `git+${REPOSITORY}@${COMMIT}`, digest: { gitCommit: COMMIT } },
    ]);
    expect(named(statement, 'holdout')).toEqual([
      {
        name: 'holdout',
        uri: `git+${REPOSITORY}@${COMMIT}#models/iris/holdout.csv`,
        digest: { sha256: '1e3e3c1648a731fbe9c4cccd3e770af0a35e26827b0a5d1c4bc97186119b602c' },
      },
    ]);
  });

  it('lists the declared training data and code with their digests, and none where none is declared', () => {
    const statement = buildProvenance(input);
    expect(named(statement, 'training-data')).toEqual([
      {
        name: 'training-data',
        uri: 'https://archive.ics.uci.edu/dataset/53/iris',
        digest: { sha256: sha256('iris.data') },
      },
      { name: 'training-data', uri: 'sklearn.datasets.load_iris' },
    ]);
    expect(named(statement, 'training-code')).toEqual([
      {
        name: 'training-code',
        uri: 'models/train.py',
        digest: { sha256: trainScriptSha, gitCommit: TRAINING_CODE_COMMIT },
      },
    ]);
  });

  it('omits training inputs entirely when the spec declares no provenance', () => {
    const { provenance: _declared, ...undeclared } = input;
    const statement = buildProvenance(undeclared);
    expect(validateProvenance(statement)).toEqual([]);
    expect(statement.predicate.buildDefinition.resolvedDependencies.map((dep) => dep.name)).toEqual([
      'model',
      'spec-repository',
      'holdout',
    ]);
  });

  it('names the spec by commit alone when the repository URL is unknown', () => {
    const statement = buildProvenance({ ...input, spec: { path: input.spec.path, commit: COMMIT } });
    expect(validateProvenance(statement)).toEqual([]);
    expect(statement.predicate.buildDefinition.externalParameters).not.toHaveProperty('repository');
    expect(named(statement, 'spec-repository')).toEqual([
      { name: 'spec-repository', digest: { gitCommit: COMMIT } },
    ]);
    expect(named(statement, 'model')[0]?.uri).toBe('models/iris/v1/model.onnx');
  });

  it('builds the same statement for the same input', () => {
    expect(JSON.stringify(buildProvenance(structuredClone(input)))).toBe(
      JSON.stringify(buildProvenance(input)),
    );
  });
});

/** JSON as a statement holds it, for tests that break one field on purpose. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * Problems `validateProvenance` finds in the real statement with the value at `path` replaced,
 * or removed when `value` is omitted.
 */
function problemsWith(path: readonly (string | number)[], ...value: [Json] | []): string[] {
  const statement = JSON.parse(JSON.stringify(buildProvenance(input))) as Json;
  const parent = path
    .slice(0, -1)
    .reduce<Json | undefined>(
      (node, key) =>
        node !== null && typeof node === 'object' ? (node as Record<string, Json>)[key] : undefined,
      statement,
    );
  const key = path.at(-1);
  if (parent === null || typeof parent !== 'object' || key === undefined)
    throw new Error(`no ${path.join('.')}`);
  const fields = parent as Record<string, Json>;
  if (value.length === 0) delete fields[key];
  else fields[key] = value[0];
  return validateProvenance(statement);
}

describe('validateProvenance', () => {
  const deps = ['predicate', 'buildDefinition', 'resolvedDependencies'];

  it('rejects a subject without a digest', () => {
    expect(problemsWith(['subject', 0, 'digest'])).toEqual(['subject.0.digest: missing required field']);
  });

  it('rejects digests in the wrong format', () => {
    expect(problemsWith(['subject', 1, 'digest', 'sha256'], 'ABC123')).toEqual([
      'subject.1.digest.sha256: must be a sha256 digest: 64 lowercase hex characters',
    ]);
    expect(problemsWith([...deps, 1, 'digest', 'gitCommit'], 'abc1234')).toEqual([
      'predicate.buildDefinition.resolvedDependencies.1.digest.gitCommit: must be a full git commit id: 40 or 64 lowercase hex characters',
    ]);
    expect(problemsWith(['subject', 0, 'digest'], { md5: 'd41d8cd98f00b204e9800998ecf8427e' })).toEqual([
      'subject.0.digest.sha256: missing required field',
      'subject.0.digest: Unrecognized key: "md5"',
    ]);
  });

  it('rejects missing required fields, a statement about nothing and a run that ends before it starts', () => {
    expect(problemsWith(['predicate', 'runDetails', 'builder', 'id'])).toEqual([
      'predicate.runDetails.builder.id: missing required field',
    ]);
    expect(problemsWith(['subject'], [])).toEqual([
      'subject: names no artifact: a statement needs at least one subject',
    ]);
    const metadata = ['predicate', 'runDetails', 'metadata'];
    expect(problemsWith([...metadata, 'finishedOn'], '2025-06-01T11:59:59Z')).toEqual([
      'predicate.runDetails.metadata.finishedOn: finishedOn is before startedOn',
    ]);
    expect(problemsWith([...metadata, 'startedOn'], 'yesterday')).toEqual([
      'predicate.runDetails.metadata.startedOn: must be an RFC 3339 timestamp in UTC, e.g. 2025-01-31T12:00:00Z',
    ]);
  });

  it('rejects a statement whose model or spec commit is not pinned', () => {
    const withoutModel = buildProvenance(input).predicate.buildDefinition.resolvedDependencies.filter(
      (dep) => dep.name !== 'model',
    );
    expect(problemsWith(deps, JSON.parse(JSON.stringify(withoutModel)) as Json)).toEqual([
      'predicate.buildDefinition.resolvedDependencies: lists no "model" with a sha256 digest',
    ]);
    expect(
      problemsWith(['predicate', 'buildDefinition', 'externalParameters', 'commit'], 'f'.repeat(40)),
    ).toEqual([
      `predicate.buildDefinition.resolvedDependencies: lists no "spec-repository" with gitCommit ${'f'.repeat(40)} (the commit in externalParameters)`,
    ]);
  });
});
