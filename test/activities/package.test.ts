import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import {
  createPackageActivities,
  type ModelBundle,
  type PackageModelInput,
} from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import {
  BUNDLE_ARTIFACT_TYPE,
  type BundleManifest,
  EVIDENCE_ARTIFACT_TYPE,
  parseBundleManifest,
} from '../../domain/bundle-format.ts';
import { pullArtifact } from '../../oci/artifact.ts';
import type { Digest } from '../../oci/digest.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { OciError } from '../../oci/errors.ts';
import { openOciStore } from '../../oci/open.ts';
import type { OciStore } from '../../oci/store.ts';
import { validateBom } from '../../supply-chain/evidence/validate-bom.ts';
import { verifyStatementBundle } from '../../supply-chain/signing/index.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
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

/**
 * What the workflow hands `packageModel`: the model resolved into `home`'s store and real reports
 * from the real validation and scan steps.
 */
async function packageInput(home: string): Promise<PackageModelInput> {
  const model = version('iris', 'v1');
  const deployment = deploymentRef();
  const artifact = await createArtifactActivities({ home, trees: directoryTrees() }).resolveArtifact({
    deployment,
    source: model.path,
    sha256: model.sha256,
  });
  const validation = await createValidateActivities({ home, ...testSources(home) }).validateModel({
    deployment,
    artifact,
    interface: exampleInterface('iris'),
    validation: {
      holdout: { path: dataset('iris').holdout.path, labelColumn: 'label', predictionOutput: 'label' },
      metrics: { accuracy: { min: 0.85 } },
    },
  });
  const scan = await createScanActivities({ ...testSources(home) }).scanModel({ deployment, artifact });
  return { deployment, artifact, specText: SPEC_TEXT, validation, scan };
}

describe('packageModel', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let input: PackageModelInput;
  let artifact: ResolvedArtifact;

  beforeAll(async () => {
    const scratch = await tempDir('package-reports');
    input = await packageInput(scratch.path);
    await scratch.remove();
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
      [...EVIDENCE, 'MODEL_CARD.md', 'manifest.json', 'model.onnx', 'spec.yaml'].sort(),
    );
    expect(await readFile(join(bundle.path, 'model.onnx'))).toEqual(await readFile(artifact.path));
    expect(await readFile(join(bundle.path, 'spec.yaml'), 'utf8')).toBe(SPEC_TEXT);
    for (const name of ['manifest.json', 'model.onnx', 'spec.yaml']) {
      expect((await stat(join(bundle.path, name))).mode & 0o777, name).toBe(0o444);
    }
    // No temp directory survives a successful build.
    expect(await readdir(join(home.path, 'bundles'))).toEqual([bundle.digest]);
  });

  it('writes a manifest with provenance, both reports and the reference profile apart', async () => {
    const bundle = await createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(
      input,
    );
    const manifest = JSON.parse(await readFile(bundle.manifestPath, 'utf8')) as BundleManifest;
    const { profile, ...report } = input.validation;
    expect(profile?.holdout.rows).toBe(45);
    expect(manifest).toEqual({
      schemaVersion: 2,
      digest: bundle.digest,
      model: 'iris-classifier',
      environment: 'staging',
      spec: { commit: input.deployment.commit, path: 'specs/iris.yaml' },
      artifact: { source: artifact.source, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
      files: bundle.files,
      validation: report,
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
      modelCard: {
        path: 'MODEL_CARD.md',
        sha256: sha256(await readFile(join(bundle.path, 'MODEL_CARD.md'))),
        sizeBytes: (await stat(join(bundle.path, 'MODEL_CARD.md'))).size,
      },
      referenceProfile: profile,
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
    expect(failure.message).toContain('holds [MODEL_CARD.md, backdoor.py, bom.cdx.json,');
  });

  it('refuses to reuse a bundle whose model card was edited after packaging', async () => {
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path) });
    const bundle = await packageModel(input);
    await writeFile(join(bundle.path, 'MODEL_CARD.md'), '# Model card\n\nEdited.\n');
    const failure = await expectDomainFailure(packageModel(input), FailureType.BundleConflict);
    expect(failure.message).toContain('MODEL_CARD.md has sha256');
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

/**
 * The bundle as an OCI artifact: pushed to the embedded layout by default and to a real registry
 * (Debian's distribution registry, HTTP Basic auth on) when the environment has one; pulled back
 * by digest it is the same files, and its evidence is found through the bundle's referrers,
 * still verifying under the worker's evidence key.
 */
describe('packageModel publishes the bundle as an OCI artifact', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let registry: TestRegistry;
  let input: PackageModelInput;

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.close();
  });
  beforeEach(async () => {
    home = await tempDir('package-oci');
    input = await packageInput(home.path);
  });
  afterEach(async () => {
    await home.remove();
  });

  /** Pulls the bundle and its one evidence referrer from `store`; checks both against the bundle on disk. */
  async function expectPulledBack(store: OciStore, bundle: ModelBundle) {
    const published = bundle.published;
    if (!published) throw new Error('the bundle was not published');
    const pulled = await pullArtifact(store, {
      repository: published.repository,
      digest: published.digest as Digest,
      targetDir: join(home.path, 'pulled', 'bundle'),
      expectArtifactType: BUNDLE_ARTIFACT_TYPE,
    });
    // The card travels with the bundle, after the content files and the manifest that lists it.
    expect(pulled.files.map((file) => file.name)).toEqual([
      'manifest.json',
      'model.onnx',
      'spec.yaml',
      'MODEL_CARD.md',
    ]);
    for (const { name } of pulled.files)
      expect(await readFile(join(home.path, 'pulled', 'bundle', name))).toEqual(
        await readFile(join(bundle.path, name)),
      );
    expect(pulled.annotations).toMatchObject({
      'org.opencontainers.image.revision': input.deployment.commit,
      'vnd.modelship.bundle.digest': bundle.digest,
    });

    const referrers = await store.listReferrers(published.repository, published.digest as Digest, {
      artifactType: EVIDENCE_ARTIFACT_TYPE,
    });
    expect(referrers.map((referrer) => referrer.digest)).toEqual([published.evidence]);
    await pullArtifact(store, {
      repository: published.repository,
      digest: published.evidence as Digest,
      targetDir: join(home.path, 'pulled', 'evidence'),
      expectArtifactType: EVIDENCE_ARTIFACT_TYPE,
    });
    expect((await readdir(join(home.path, 'pulled', 'evidence'))).sort()).toEqual(EVIDENCE);
    const publicKey = await readFile(join(home.path, 'keys', 'evidence.pub'), 'utf8');
    const statement = verifyStatementBundle(
      await readFile(join(home.path, 'pulled', 'evidence', 'bom.sigstore.json'), 'utf8'),
      publicKey,
    );
    expect(statement.predicateType).toBe('https://cyclonedx.org/bom');
  }

  it('goes to the OCI image layout under MODELSHIP_HOME when no registry is configured', async () => {
    const bundle = await createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(
      input,
    );
    expect(bundle.published).toMatchObject({
      store: `OCI layout ${join(home.path, 'oci')}`,
      repository: 'modelship/iris-classifier',
    });
    expect(bundle.published?.reference).toBeUndefined();
    await expectPulledBack(openOciStore({ kind: 'layout', root: join(home.path, 'oci') }), bundle);
  });

  it("goes to the environment's registry by digest, the same digests on a retry", async () => {
    const credentials = { username: registry.username, password: registry.password };
    const stores = bundleStores({
      home: home.path,
      registry: { urls: { staging: registry.url, production: 'http://127.0.0.1:9' }, credentials },
    });
    const { packageModel } = createPackageActivities({ home: home.path, ...testSources(home.path), stores });
    const bundle = await packageModel(input);
    expect(bundle.published?.reference).toBe(
      `oci://${registry.host}/modelship/iris-classifier@${bundle.published?.digest}`,
    );
    await expectPulledBack(openOciStore({ kind: 'registry', url: registry.url, credentials }), bundle);

    const again = await packageModel(input);
    expect(again.published).toEqual(bundle.published);
  });

  it('leaves a refused login to the retry policy rather than failing the run', async () => {
    const stores = bundleStores({
      home: home.path,
      registry: {
        url: registry.url,
        urls: {},
        credentials: { username: registry.username, password: 'wrong' },
      },
    });
    const failure = await createPackageActivities({ home: home.path, ...testSources(home.path), stores })
      .packageModel(input)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(OciError);
    expect((failure as OciError).kind).toBe('unauthorized');
    expect((failure as OciError).message).toContain(registry.url.replace('http://', ''));
  });
});
