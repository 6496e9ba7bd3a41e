import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleDigest } from '../../activities/package.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import type { BundleFile } from '../../domain/bundle-format.ts';
import { scanModelFile } from '../../model/scan.ts';
import { parseSpec } from '../../specs/parse.ts';
import type { ModelDeployment } from '../../specs/schema.ts';
import { bomStatement } from '../../supply-chain/evidence/bom-statement.ts';
import type { CdxBom } from '../../supply-chain/evidence/cyclonedx.ts';
import { buildModelBom, type ModelBomInput } from '../../supply-chain/evidence/model-bom.ts';
import { uuidV5 } from '../../supply-chain/evidence/name-uuid.ts';
import { validateBom } from '../../supply-chain/evidence/validate-bom.ts';
import { deploymentRef, REPO_ROOT, tempDir, testSources, version } from '../activities/support.ts';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const COMMIT = '4cbea6a0c1d2e3f405162738495a6b7c8d9e0f10';
const TRAIN_SCRIPT = 'models/train.py';
/** models/SHA256SUMS: the holdout validation reads. */
const HOLDOUT_SHA256 = '1e3e3c1648a731fbe9c4cccd3e770af0a35e26827b0a5d1c4bc97186119b602c';

/**
 * The real example spec pointed at iris v1, with a provenance block: a training script pinned
 * by digest and commit, and a dataset declared without a digest.
 */
async function specText(): Promise<string> {
  const v1 = version('iris', 'v1');
  const v2 = version('iris', 'v2');
  const trainSha = sha256(await readFile(join(REPO_ROOT, TRAIN_SCRIPT)));
  const text = (await readFile(join(REPO_ROOT, 'specs/examples/iris.yaml'), 'utf8'))
    .replace(v2.path, v1.path)
    .replace(v2.sha256, v1.sha256);
  return `${text.trimEnd()}
  provenance:
    trainingData:
      - uri: sklearn.datasets.load_iris
    trainingCode:
      - uri: ${TRAIN_SCRIPT}
        sha256: ${trainSha}
        commit: ${COMMIT}
`;
}

/** Everything the package step would hand over, measured by the real scan and validation steps. */
async function realInput(): Promise<ModelBomInput> {
  const v1 = version('iris', 'v1');
  const modelPath = join(REPO_ROOT, v1.path);
  const text = await specText();
  const parsed = parseSpec(text);
  if (!parsed.ok) throw new Error(`example spec does not parse: ${JSON.stringify(parsed.errors)}`);
  const spec: ModelDeployment = parsed.spec;
  const files: BundleFile[] = [
    { path: 'model.onnx', sha256: v1.sha256, sizeBytes: v1.size_bytes },
    { path: 'spec.yaml', sha256: sha256(text), sizeBytes: Buffer.byteLength(text) },
  ];
  const home = await tempDir('evidence-bom');
  try {
    const scan = await scanModelFile(modelPath, { expectedSha256: v1.sha256 });
    const validation = await createValidateActivities({
      home: home.path,
      ...testSources(home.path),
    }).validateModel({
      deployment: { ...deploymentRef(), model: spec.metadata.name, commit: COMMIT },
      artifact: { sha256: v1.sha256, path: modelPath, sizeBytes: v1.size_bytes, source: v1.path },
      interface: spec.spec.interface,
      // The example's millisecond latency limits are for a quiet machine; a loaded CI runner
      // must not turn this test red, and the BOM reports whatever thresholds it is given.
      validation: {
        ...spec.spec.validation,
        metrics: { accuracy: { min: 0.8 }, latencyP99: { max: '2s', maxMs: 2000 } },
      },
    });
    return {
      model: spec.metadata.name,
      ...(spec.metadata.description ? { description: spec.metadata.description } : {}),
      owners: spec.metadata.owners,
      environment: spec.spec.rollout.environment,
      spec: { path: 'specs/iris.yaml', commit: COMMIT, repository: 'https://git.example.com/ml/models.git' },
      bundle: { digest: bundleDigest(files, COMMIT), files },
      artifact: { source: spec.spec.model.source, sha256: spec.spec.model.sha256 },
      ...(spec.spec.provenance ? { provenance: spec.spec.provenance } : {}),
      versions: {
        modelship: '0.1.0',
        onnxruntime: validation.onnxruntimeVersion,
        scanners: { secretlint: '12.0.0', 'modelship-onnx-scan': '0.1.0' },
      },
      interface: spec.spec.interface,
      validation,
      scan,
      policy: { passed: true, summary: 'model.sig verified against key ml-team' },
      timestamp: '2025-06-01T12:00:00.000Z',
    };
  } finally {
    await home.remove();
  }
}

const clone = (bom: CdxBom) => structuredClone(bom) as CdxBom & Record<string, unknown>;

let input: ModelBomInput;
let bom: CdxBom;
beforeAll(async () => {
  input = await realInput();
  bom = buildModelBom(input);
});

describe('buildModelBom', () => {
  it('describes the real iris v1 model in a BOM that the CycloneDX 1.6 schema accepts', async () => {
    expect(await validateBom(bom)).toEqual([]);
    expect(await validateBom(JSON.stringify(bom, null, 2))).toEqual([]);

    const model = bom.metadata.component;
    expect(model).toMatchObject({
      type: 'machine-learning-model',
      name: 'iris',
      version: input.bundle.digest.slice(0, 12),
      hashes: [
        { alg: 'SHA-256', content: '1acf5d8e39d76cac9fb852534cbaa44c40bd1f91643d6478c3cc5153d299f6f0' },
      ],
    });
    expect(model.modelCard?.modelParameters).toMatchObject({
      task: 'classification',
      inputs: [{ format: 'input: float32[-1, 4]' }],
      outputs: [{ format: 'label: int64[-1]' }, { format: 'probabilities: float32[-1, 3]' }],
      datasets: [{ ref: 'training-data-1' }],
    });
    expect(bom.serialNumber).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(bom.metadata.timestamp).toBe('2025-06-01T12:00:00.000Z');
    expect(bom.metadata.tools.components.map((tool) => `${tool.name}@${tool.version}`)).toEqual([
      'modelship@0.1.0',
      `onnxruntime-node@${input.versions.onnxruntime}`,
      'modelship-onnx-scan@0.1.0',
      'secretlint@12.0.0',
    ]);
  });

  it('reports the metrics measured on the holdout, with their thresholds and verdicts', () => {
    const card = bom.metadata.component.modelCard;
    const accuracy = input.validation.metrics.find((metric) => metric.name === 'accuracy');
    expect(accuracy?.value).toBeGreaterThan(0.8);
    expect(card?.quantitativeAnalysis.performanceMetrics).toContainEqual({
      type: 'accuracy',
      value: String(accuracy?.value),
      slice: 'holdout',
    });
    // The headline metrics first; the deeper report follows (next test).
    expect(card?.quantitativeAnalysis.performanceMetrics.slice(0, 4).map((metric) => metric.type)).toEqual([
      'accuracy',
      'f1Macro',
      'latencyP50',
      'latencyP99',
    ]);
    expect(card?.properties?.slice(0, 4)).toEqual([
      { name: 'modelship:threshold:accuracy', value: 'min 0.8' },
      { name: 'modelship:result:accuracy', value: 'passed' },
      { name: 'modelship:threshold:latencyP99', value: 'max 2000 ms' },
      { name: 'modelship:result:latencyP99', value: 'passed' },
    ]);
  });

  it('adds the per-class metrics and the feature importances of the deeper report', () => {
    const card = bom.metadata.component.modelCard;
    const slices = card?.quantitativeAnalysis.performanceMetrics.slice(4).map((metric) => metric.slice);
    expect(slices?.slice(0, 9)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2].map((cls) => `class=${cls}`));
    const names = (card?.properties ?? []).map((property) => property.name);
    expect(names).toContain('modelship:confusionMatrix');
    expect(names).toContain('modelship:importance:method');
    expect(names.filter((name) => /^modelship:importance:[a-z]+_[a-z]+_cm$/.test(name))).toHaveLength(4);
  });

  it('lists every bundle file and the declared training inputs, and where the spec came from', () => {
    expect(bom.components.map((component) => [component.type, component.name])).toEqual([
      ['file', 'model.onnx'],
      ['file', 'spec.yaml'],
      ['data', 'sklearn.datasets.load_iris'],
    ]);
    expect(bom.components[1]?.hashes).toEqual([{ alg: 'SHA-256', content: input.bundle.files[1]?.sha256 }]);
    // Declared without a digest: listed, and no hash is made up for it.
    expect(bom.components[2]?.hashes).toBeUndefined();
    expect(bom.dependencies).toEqual([{ ref: 'model', dependsOn: ['training-data-1'] }]);
    expect(bom.metadata.component.externalReferences).toEqual([
      {
        type: 'vcs',
        url: 'https://git.example.com/ml/models.git',
        comment: `spec specs/iris.yaml at commit ${COMMIT}`,
      },
      {
        type: 'vcs',
        url: TRAIN_SCRIPT,
        comment: `training code at commit ${COMMIT}`,
        hashes: [{ alg: 'SHA-256', content: input.provenance?.trainingCode[0]?.sha256 }],
      },
    ]);
    const properties = Object.fromEntries(bom.metadata.properties.map((p) => [p.name, p.value]));
    expect(properties).toMatchObject({
      'modelship:environment': 'staging',
      'modelship:spec:path': 'specs/iris.yaml',
      'modelship:spec:commit': COMMIT,
      'modelship:bundle:digest': input.bundle.digest,
      'modelship:scan:passed': 'true',
      'modelship:scan:findings': '0 errors, 0 warnings',
      'modelship:scan:check:operators': 'passed',
      'modelship:validation:passed': 'true',
      'modelship:validation:holdoutSha256': HOLDOUT_SHA256,
      'modelship:policy:passed': 'true',
    });
  });

  it('writes the same document for the same input, and another serial number for another bundle', () => {
    const again = buildModelBom(structuredClone(input));
    expect(JSON.stringify(again)).toBe(JSON.stringify(bom));
    const otherBundle = buildModelBom({ ...input, bundle: { ...input.bundle, digest: sha256('other') } });
    expect(otherBundle.serialNumber).not.toBe(bom.serialNumber);
  });

  it('keeps a minimal BOM valid: no repository, no provenance, no policy, an https model source', async () => {
    const { provenance: _p, policy: _q, owners: _o, description: _d, ...rest } = input;
    const minimal = buildModelBom({
      ...rest,
      spec: { path: input.spec.path, commit: COMMIT },
      artifact: { source: 'https://models.example.com/iris/v1/model.onnx', sha256: input.artifact.sha256 },
    });
    expect(await validateBom(minimal)).toEqual([]);
    expect(minimal.components.map((component) => component.name)).toEqual(['model.onnx', 'spec.yaml']);
    expect(minimal.dependencies).toBeUndefined();
    expect(minimal.metadata.component.externalReferences).toEqual([
      {
        type: 'distribution',
        url: 'https://models.example.com/iris/v1/model.onnx',
        hashes: [{ alg: 'SHA-256', content: input.artifact.sha256 }],
      },
    ]);
  });
});

describe('bomStatement', () => {
  it('wraps the BOM for signing as an in-toto statement about the bundle files', () => {
    const statement = bomStatement(bom, input.bundle.files);
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: input.bundle.files.map((file) => ({ name: file.path, digest: { sha256: file.sha256 } })),
      predicateType: 'https://cyclonedx.org/bom',
      predicate: bom,
    });
    expect(() => bomStatement(bom, [])).toThrow('at least one bundle file');
  });
});

describe('validateBom', () => {
  it('rejects a component type the schema does not know', async () => {
    const broken = clone(bom);
    (broken.metadata.component as { type: string }).type = 'ml-model';
    const errors = await validateBom(broken);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^\/metadata\/component\/type: must be equal to one of the allowed values \(.*machine-learning-model/,
    );
  });

  it('rejects a hash that is not a hex digest', async () => {
    const broken = clone(bom);
    const file = broken.components[0];
    if (!file?.hashes?.[0]) throw new Error('the model file component has no hash');
    file.hashes[0].content = 'not-a-digest';
    expect(await validateBom(broken)).toEqual([
      expect.stringMatching(/^\/components\/0\/hashes\/0\/content: must match pattern/),
    ]);
  });

  it('rejects a field CycloneDX 1.6 does not have, and text that is not JSON', async () => {
    const broken = { ...clone(bom), modelship: { extra: true } };
    expect(await validateBom(broken)).toEqual(['/: must NOT have additional properties ("modelship")']);
    expect(await validateBom('{"bomFormat": "CycloneDX",')).toEqual([
      expect.stringMatching(/^\/: not JSON: /),
    ]);
  });
});

describe('uuidV5', () => {
  it('agrees with the RFC 9562 name-based UUIDs other tools compute', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'www.example.com'), uuid.uuid5(uuid.NAMESPACE_URL, ...)
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(uuidV5('https://modelship.dev/x')).toBe('aaf5bd9d-6d8a-544f-b31f-4655f6586e48');
  });
});
