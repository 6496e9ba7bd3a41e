import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import { createPackageActivities, type PackageModelInput } from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import { type BundleManifest, parseBundleManifest } from '../../domain/bundle-format.ts';
import { validateBom } from '../../supply-chain/evidence/validate-bom.ts';
import { verifyStatementBundle } from '../../supply-chain/signing/index.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import {
  dataset,
  deploymentRef,
  directoryTrees,
  exampleInterface,
  expectDomainFailure,
  tempDir,
  testSources,
  version,
} from './support.ts';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The spec as committed: the package step parses it again to describe the model. */
const SPEC_TEXT = `${exampleSpecYaml({ name: 'iris-classifier', dataset: 'iris', version: 'v1' })}  provenance:
    trainingData:
      - { uri: 'https://data.example.com/iris.csv', sha256: ${'a'.repeat(64)} }
    trainingCode:
      - { uri: 'https://git.example.com/ml/iris', commit: ${'b'.repeat(40)} }
`;
const EVIDENCE = ['bom.cdx.json', 'bom.sigstore.json', 'provenance.json', 'provenance.sigstore.json'];

describe('packageModel', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let input: PackageModelInput;
  let artifact: ResolvedArtifact;

  beforeAll(async () => {
    // Real reports from the real steps, as the workflow would pass them along.
    const scratch = await tempDir('package-reports');
    const model = version('iris', 'v1');
    const deployment = deploymentRef();
    const resolved = await createArtifactActivities({
      home: scratch.path,
      trees: directoryTrees(),
    }).resolveArtifact({
      deployment,
      source: model.path,
      sha256: model.sha256,
    });
    const validation = await createValidateActivities({
      home: scratch.path,
      ...testSources(scratch.path),
    }).validateModel({
      deployment,
      artifact: resolved,
      interface: exampleInterface('iris'),
      validation: {
        holdout: { path: dataset('iris').holdout.path, labelColumn: 'label', predictionOutput: 'label' },
        metrics: { accuracy: { min: 0.85 } },
      },
    });
    const scan = await createScanActivities({ ...testSources(scratch.path) }).scanModel({
      deployment,
      artifact: resolved,
    });
    await scratch.remove();
    input = { deployment, artifact: resolved, specText: SPEC_TEXT, validation, scan };
  });

  beforeEach(async () => {
    home = await tempDir('package');
    const model = version('iris', 'v1');
    artifact = await createArtifactActivities({ home: home.path, trees: directoryTrees() }).resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });
    input = { ...input, artifact };
  });
  afterEach(async () => {
    await home.remove();
  });

  it('lays out an immutable bundle named by the digest of its content files and commit', async () => {
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path) });
    const bundle = await packageModel(input);

    const listing = `model.onnx\t${artifact.sha256}\nspec.yaml\t${sha256(SPEC_TEXT)}\ncommit\t${input.deployment.commit}\n`;
    expect(bundle.digest).toBe(sha256(listing));
    expect(bundle.path).toBe(join(home.path, 'bundles', bundle.digest));
    expect(bundle.manifestPath).toBe(join(bundle.path, 'manifest.json'));
    expect(bundle.files).toEqual([
      { path: 'model.onnx', sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
      { path: 'spec.yaml', sha256: sha256(SPEC_TEXT), sizeBytes: Buffer.byteLength(SPEC_TEXT) },
    ]);
    expect((await readdir(bundle.path)).sort()).toEqual(
      [...EVIDENCE, 'manifest.json', 'model.onnx', 'spec.yaml'].sort(),
    );
    expect(await readFile(join(bundle.path, 'model.onnx'))).toEqual(await readFile(artifact.path));
    expect(await readFile(join(bundle.path, 'spec.yaml'), 'utf8')).toBe(SPEC_TEXT);
    for (const name of ['manifest.json', 'model.onnx', 'spec.yaml']) {
      expect((await stat(join(bundle.path, name))).mode & 0o777, name).toBe(0o444);
    }
    // No temp directory survives a successful build.
    expect(await readdir(join(home.path, 'bundles'))).toEqual([bundle.digest]);
  });

  it('writes a manifest with provenance and both reports', async () => {
    const bundle = await createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(
      input,
    );
    const manifest = JSON.parse(await readFile(bundle.manifestPath, 'utf8')) as BundleManifest;
    expect(manifest).toEqual({
      schemaVersion: 2,
      digest: bundle.digest,
      model: 'iris-classifier',
      environment: 'staging',
      spec: { commit: input.deployment.commit, path: 'specs/iris.yaml' },
      artifact: { source: artifact.source, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
      files: bundle.files,
      validation: input.validation,
      scan: input.scan,
      supplyChain: null,
      policy: null,
      onnxruntimeVersion: '1.30.0',
      scanners: { 'modelship-onnx-scan': '0.1.0' },
      evidence: {
        files: EVIDENCE,
        signedBy: expect.stringMatching(/^[0-9a-f]{64}$/),
        cyclonedx: '1.6',
        slsa: 'https://slsa.dev/provenance/v1',
      },
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('writes a manifest the bundle format accepts, and the format refuses a tampered copy of it', async () => {
    const bundle = await createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(
      input,
    );
    const written = JSON.parse(await readFile(bundle.manifestPath, 'utf8')) as BundleManifest;
    expect(parseBundleManifest(written)).toEqual({ ok: true, manifest: written });

    const tampered = (change: (manifest: BundleManifest) => void) => {
      const copy = structuredClone(written);
      change(copy);
      return parseBundleManifest(copy);
    };
    expect(
      tampered((m) => {
        m.files = m.files.map((file) =>
          file.path === 'model.onnx' ? { ...file, sha256: 'f'.repeat(64) } : file,
        );
      }),
    ).toEqual({ ok: false, errors: [`files.0.sha256: must equal artifact.sha256 (${artifact.sha256})`] });
    expect(
      tampered((m) => {
        m.files = [...m.files, { path: '../../backdoor.py', sha256: 'a'.repeat(64), sizeBytes: 1 }];
      }),
    ).toEqual({
      ok: false,
      errors: [
        'files.2.path: must be a file name inside the bundle, without directories',
        'files: must list exactly model.onnx, spec.yaml, sorted; lists [model.onnx, spec.yaml, ../../backdoor.py]',
      ],
    });
    expect(
      tampered((m) => {
        m.digest = 'not a digest';
        m.schemaVersion = 3 as 2;
      }),
    ).toEqual({
      ok: false,
      errors: [
        'schemaVersion: Invalid input: expected 2',
        'digest: must be a sha256: 64 lowercase hex digits',
      ],
    });
  });

  it('writes a CycloneDX description that validates and signed statements the evidence key verifies', async () => {
    const bundle = await createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(
      input,
    );
    const bom = JSON.parse(await readFile(join(bundle.path, 'bom.cdx.json'), 'utf8'));
    expect(await validateBom(bom)).toEqual([]);
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component.type).toBe('machine-learning-model');
    expect(bom.metadata.component.hashes).toContainEqual({ alg: 'SHA-256', content: artifact.sha256 });
    // Signed by the key the worker keeps in its home (created on first use), public half beside it.
    const publicKey = await readFile(join(home.path, 'keys', 'evidence.pub'), 'utf8');
    const bomStatement = verifyStatementBundle(
      await readFile(join(bundle.path, 'bom.sigstore.json'), 'utf8'),
      publicKey,
    );
    expect(bomStatement.predicateType).toBe('https://cyclonedx.org/bom');
    const provenance = verifyStatementBundle(
      await readFile(join(bundle.path, 'provenance.sigstore.json'), 'utf8'),
      publicKey,
    ) as unknown as {
      subject: unknown[];
      predicate: {
        buildDefinition: { resolvedDependencies: { name: string; digest: Record<string, string> }[] };
      };
    };
    expect(provenance.subject).toEqual(
      bundle.files.map((f) => ({ name: f.path, digest: { sha256: f.sha256 } })),
    );
    const dependencies = provenance.predicate.buildDefinition.resolvedDependencies;
    expect(dependencies.find((d) => d.name === 'model')?.digest).toEqual({ sha256: artifact.sha256 });
    expect(dependencies.find((d) => d.name === 'training-data')?.digest).toEqual({ sha256: 'a'.repeat(64) });
    expect(dependencies.find((d) => d.name === 'training-code')?.digest).toEqual({
      gitCommit: 'b'.repeat(40),
    });
    // One byte changed in the signed provenance and it no longer verifies.
    const signed = JSON.parse(await readFile(join(bundle.path, 'provenance.sigstore.json'), 'utf8'));
    const payload = Buffer.from(signed.dsseEnvelope.payload, 'base64')
      .toString('utf8')
      .replace('model', 'modem');
    signed.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
    expect(() => verifyStatementBundle(signed, publicKey)).toThrow();
  });

  it('returns the same bundle on a retry, keeping the first manifest', async () => {
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path) });
    const first = await packageModel(input);
    const manifest = await readFile(first.manifestPath, 'utf8');
    const slower = { ...input.validation, latency: { ...input.validation.latency, p99Ms: 123 } };
    const second = await packageModel({ ...input, validation: slower });
    expect(second).toEqual(first);
    expect(await readFile(second.manifestPath, 'utf8')).toBe(manifest);
  });

  it('gives other spec text another bundle', async () => {
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path) });
    const first = await packageModel(input);
    const second = await packageModel({ ...input, specText: `${SPEC_TEXT}# changed\n` });
    expect(second.digest).not.toBe(first.digest);
  });

  it('refuses to reuse a bundle whose files were tampered with', async () => {
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path) });
    const bundle = await packageModel(input);
    const spec = join(bundle.path, 'spec.yaml');
    await chmod(spec, 0o644);
    await writeFile(spec, 'kind: Evil\n');
    const failure = await expectDomainFailure(packageModel(input), FailureType.BundleConflict);
    expect(failure.message).toContain(
      `spec.yaml has sha256 ${sha256('kind: Evil\n')}, expected ${sha256(SPEC_TEXT)}`,
    );
  });

  it('refuses to reuse a bundle with extra files', async () => {
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path) });
    const bundle = await packageModel(input);
    await writeFile(join(bundle.path, 'backdoor.py'), 'print("hi")\n');
    const failure = await expectDomainFailure(packageModel(input), FailureType.BundleConflict);
    expect(failure.message).toContain('holds [backdoor.py, bom.cdx.json,');
  });

  it('refuses a damaged store copy instead of bundling it', async () => {
    await chmod(artifact.path, 0o644);
    await writeFile(artifact.path, 'not the model');
    const failure = await expectDomainFailure(
      createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(input),
      FailureType.DigestMismatch,
    );
    expect(failure.message).toContain(artifact.sha256);
    expect(await readdir(join(home.path, 'bundles'))).toEqual([]);
  });
});
