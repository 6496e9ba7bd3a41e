import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import {
  type BundleManifest,
  createPackageActivities,
  type PackageModelInput,
} from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import {
  dataset,
  deploymentRef,
  exampleInterface,
  expectDomainFailure,
  tempDir,
  version,
} from './support.ts';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

const SPEC_TEXT = `apiVersion: modelship.dev/v1
kind: ModelDeployment
metadata:
  name: iris-classifier
  owners: [ml-platform]
# ... the rest of the spec as committed
`;

describe('packageModel', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let input: PackageModelInput;
  let artifact: ResolvedArtifact;

  beforeAll(async () => {
    // Real reports from the real steps, as the workflow would pass them along.
    const scratch = await tempDir('package-reports');
    const model = version('iris', 'v1');
    const deployment = deploymentRef();
    const resolved = await createArtifactActivities({ home: scratch.path }).resolveArtifact({
      deployment,
      source: model.path,
      sha256: model.sha256,
    });
    const validation = await createValidateActivities({ home: scratch.path }).validateModel({
      deployment,
      artifact: resolved,
      interface: exampleInterface('iris'),
      validation: {
        holdout: { path: dataset('iris').holdout.path, labelColumn: 'label', predictionOutput: 'label' },
        metrics: { accuracy: { min: 0.85 } },
      },
    });
    const scan = await createScanActivities({ home: scratch.path }).scanModel({
      deployment,
      artifact: resolved,
    });
    await scratch.remove();
    input = { deployment, artifact: resolved, specText: SPEC_TEXT, validation, scan };
  });

  beforeEach(async () => {
    home = await tempDir('package');
    const model = version('iris', 'v1');
    artifact = await createArtifactActivities({ home: home.path }).resolveArtifact({
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
    const { packageModel } = createPackageActivities({ home: home.path });
    const bundle = await packageModel(input);

    const listing = `model.onnx\t${artifact.sha256}\nspec.yaml\t${sha256(SPEC_TEXT)}\ncommit\t${input.deployment.commit}\n`;
    expect(bundle.digest).toBe(sha256(listing));
    expect(bundle.path).toBe(join(home.path, 'bundles', bundle.digest));
    expect(bundle.manifestPath).toBe(join(bundle.path, 'manifest.json'));
    expect(bundle.files).toEqual([
      { path: 'model.onnx', sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
      { path: 'spec.yaml', sha256: sha256(SPEC_TEXT), sizeBytes: Buffer.byteLength(SPEC_TEXT) },
    ]);
    expect((await readdir(bundle.path)).sort()).toEqual(['manifest.json', 'model.onnx', 'spec.yaml']);
    expect(await readFile(join(bundle.path, 'model.onnx'))).toEqual(await readFile(artifact.path));
    expect(await readFile(join(bundle.path, 'spec.yaml'), 'utf8')).toBe(SPEC_TEXT);
    for (const name of ['manifest.json', 'model.onnx', 'spec.yaml']) {
      expect((await stat(join(bundle.path, name))).mode & 0o777, name).toBe(0o444);
    }
    // No temp directory survives a successful build.
    expect(await readdir(join(home.path, 'bundles'))).toEqual([bundle.digest]);
  });

  it('writes a manifest with provenance and both reports', async () => {
    const bundle = await createPackageActivities({ home: home.path }).packageModel(input);
    const manifest = JSON.parse(await readFile(bundle.manifestPath, 'utf8')) as BundleManifest;
    expect(manifest).toEqual({
      schemaVersion: 1,
      digest: bundle.digest,
      model: 'iris-classifier',
      environment: 'staging',
      spec: { commit: input.deployment.commit, path: 'specs/iris.yaml' },
      artifact: { source: artifact.source, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
      files: bundle.files,
      validation: input.validation,
      scan: input.scan,
      onnxruntimeVersion: '1.30.0',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('returns the same bundle on a retry, keeping the first manifest', async () => {
    const { packageModel } = createPackageActivities({ home: home.path });
    const first = await packageModel(input);
    const manifest = await readFile(first.manifestPath, 'utf8');
    const slower = { ...input.validation, latency: { ...input.validation.latency, p99Ms: 123 } };
    const second = await packageModel({ ...input, validation: slower });
    expect(second).toEqual(first);
    expect(await readFile(second.manifestPath, 'utf8')).toBe(manifest);
  });

  it('gives other spec text another bundle', async () => {
    const { packageModel } = createPackageActivities({ home: home.path });
    const first = await packageModel(input);
    const second = await packageModel({ ...input, specText: `${SPEC_TEXT}# changed\n` });
    expect(second.digest).not.toBe(first.digest);
  });

  it('refuses to reuse a bundle whose files were tampered with', async () => {
    const { packageModel } = createPackageActivities({ home: home.path });
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
    const { packageModel } = createPackageActivities({ home: home.path });
    const bundle = await packageModel(input);
    await writeFile(join(bundle.path, 'backdoor.py'), 'print("hi")\n');
    const failure = await expectDomainFailure(packageModel(input), FailureType.BundleConflict);
    expect(failure.message).toContain('holds [backdoor.py, manifest.json, model.onnx, spec.yaml]');
  });

  it('refuses a damaged store copy instead of bundling it', async () => {
    await chmod(artifact.path, 0o644);
    await writeFile(artifact.path, 'not the model');
    const failure = await expectDomainFailure(
      createPackageActivities({ home: home.path }).packageModel(input),
      FailureType.DigestMismatch,
    );
    expect(failure.message).toContain(artifact.sha256);
    expect(await readdir(join(home.path, 'bundles'))).toEqual([]);
  });
});
