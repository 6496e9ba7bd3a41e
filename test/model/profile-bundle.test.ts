/**
 * The reference profile end to end: validated by the real activity, packaged by the real activity
 * into manifest.json and the CycloneDX BOM, and read back by the data plane's bundle reader.
 */
import { createHash } from 'node:crypto';
import { chmod, cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import {
  createPackageActivities,
  type ModelBundle,
  type PackageModelInput,
} from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import { BOM_FILE, type BundleManifest, MANIFEST_FILE } from '../../domain/bundle-format.ts';
import { canonicalJson } from '../../domain/canonical-json.ts';
import { parseReferenceProfile, type ReferenceProfile } from '../../domain/reference-profile.ts';
import { readBundle } from '../../serving/bundle.ts';
import type { CdxBom } from '../../supply-chain/evidence/cyclonedx.ts';
import { validateBom } from '../../supply-chain/evidence/validate-bom.ts';
import {
  type CatalogDataset,
  dataset,
  deploymentRef,
  exampleInterface,
  tempDir,
  testSources,
  version,
} from '../activities/support.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

type DatasetName = CatalogDataset['name'];

/** What the workflow hands packageModel for `name` v1, measured by the real validate and scan steps. */
async function packageInput(home: string, name: DatasetName): Promise<PackageModelInput> {
  const deps = { home, ...testSources(home) };
  const model = version(name, 'v1');
  const deployment = { ...deploymentRef(), model: name };
  const artifact = await createArtifactActivities(deps).resolveArtifact({
    deployment,
    source: model.path,
    sha256: model.sha256,
  });
  const validation = await createValidateActivities(deps).validateModel({
    deployment,
    artifact,
    interface: exampleInterface(name),
    validation: {
      holdout: { path: dataset(name).holdout.path, labelColumn: 'label', predictionOutput: 'label' },
      metrics: { accuracy: { min: 0.85 } },
    },
  });
  const scan = await createScanActivities(deps).scanModel({ deployment, artifact });
  const specText = exampleSpecYaml({ dataset: name, version: 'v1' });
  return { deployment, artifact, specText, validation, scan };
}

const readJson = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;

describe('the reference profile in a packaged bundle', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let iris: PackageModelInput;
  let bundle: ModelBundle;
  let manifest: BundleManifest;

  beforeAll(async () => {
    home = await tempDir('profile-bundle');
    iris = await packageInput(home.path, 'iris');
    bundle = await createPackageActivities({ home: home.path, ...testSources(home.path) }).packageModel(iris);
    manifest = await readJson<BundleManifest>(bundle.manifestPath);
  });
  afterAll(async () => {
    await home?.remove();
  });

  it('records the iris holdout profile in manifest.json, as the contract parses it', () => {
    const parsed = parseReferenceProfile(manifest.referenceProfile);
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
    const profile = manifest.referenceProfile as ReferenceProfile;
    expect(profile.holdout).toEqual({
      path: 'models/iris/holdout.csv',
      sha256: iris.validation.holdoutSha256,
      rows: 45,
    });
    expect(profile.input).toBe('input');
    expect(profile.features.map((f) => [f.name, f.kind, f.column])).toEqual(
      dataset('iris').features.map((name, column) => [name, 'numeric', column]),
    );
    for (const feature of profile.features) {
      expect(feature.counts.reduce((a, b) => a + b, 0) + feature.missing, feature.name).toBe(45);
    }
    // The committed holdout is a stratified split: 15 rows of each class.
    expect(profile.labels.counts).toEqual([15, 15, 15]);
    expect([...profile.labels.classes].sort()).toEqual(['0', '1', '2']);
    expect(profile.predictions.counts.reduce((a, b) => a + b, 0)).toBe(45);
    const accuracy = iris.validation.metrics.find((m) => m.name === 'accuracy')?.value;
    expect(profile.metrics.accuracy).toBe(accuracy);
    // Kept apart from the validation report, not twice in the manifest.
    expect(manifest.validation).not.toHaveProperty('profile');
  });

  it("is the bundle's profile as the data plane's readBundle exposes it", async () => {
    const servable = await readBundle(bundle.path);
    expect(servable.profile).toEqual(manifest.referenceProfile);
  });

  it('is summarised in the signed BOM as the holdout dataset of the model card, schema-valid', async () => {
    const bom = await readJson<CdxBom>(join(bundle.path, BOM_FILE));
    expect(await validateBom(bom)).toEqual([]);
    expect(bom.metadata.component.modelCard?.modelParameters.datasets).toContainEqual({ ref: 'holdout' });
    const holdout = bom.components.find((component) => component['bom-ref'] === 'holdout');
    expect(holdout).toMatchObject({
      type: 'data',
      name: 'models/iris/holdout.csv',
      hashes: [{ alg: 'SHA-256', content: iris.validation.holdoutSha256 }],
    });
    expect(holdout?.data?.[0]?.description).toMatch(/^Holdout of 45 rows the model was validated on/);
    const properties = Object.fromEntries((holdout?.properties ?? []).map((p) => [p.name, p.value]));
    const digest = createHash('sha256').update(canonicalJson(manifest.referenceProfile)).digest('hex');
    expect(properties['modelship:profile:sha256']).toBe(digest);
    expect(properties['modelship:profile:rows']).toBe('45');
    expect(properties['modelship:profile:feature:petal_length_cm']).toMatch(
      /^numeric, \d+ bins, 1(\.\d+)?\.\.6\.\d+, mean [\d.]+, std [\d.]+$/,
    );
  });

  it('makes readBundle refuse a manifest whose profile was tampered with, naming the problem', async () => {
    const copy = join(home.path, 'tampered');
    await cp(bundle.path, copy, { recursive: true });
    const manifestPath = join(copy, MANIFEST_FILE);
    await chmod(manifestPath, 0o644);
    const tampered = structuredClone(manifest) as BundleManifest & { referenceProfile: ReferenceProfile };
    tampered.referenceProfile.features[2]?.counts.pop();
    await writeFile(manifestPath, JSON.stringify(tampered));
    await expect(readBundle(copy)).rejects.toThrow(
      /manifest\.json has a malformed referenceProfile: features\.2\.counts: must have \d+ entries, one per bin; has \d+/,
    );

    const labels = structuredClone(manifest) as BundleManifest & { referenceProfile: ReferenceProfile };
    labels.referenceProfile.labels.counts.pop();
    await writeFile(manifestPath, JSON.stringify(labels));
    await expect(readBundle(copy)).rejects.toThrow(
      'malformed referenceProfile: labels: classes and counts differ in length',
    );

    await writeFile(manifestPath, JSON.stringify({ ...manifest, referenceProfile: { schemaVersion: 9 } }));
    await expect(readBundle(copy)).rejects.toThrow(/malformed referenceProfile: schemaVersion: /);
  });

  it('packages a report from before profiles without one, and such a bundle still serves', async () => {
    const { profile: _dropped, ...older } = iris.validation;
    const oldHome = await tempDir('profile-bundle-old');
    try {
      const old = await createPackageActivities({
        home: oldHome.path,
        ...testSources(oldHome.path),
      }).packageModel({
        ...iris,
        validation: older,
      });
      const written = await readJson<BundleManifest>(old.manifestPath);
      expect(written).not.toHaveProperty('referenceProfile');
      expect(written.schemaVersion).toBe(2);
      expect((await readBundle(old.path)).profile).toBeUndefined();
      const bom = await readJson<CdxBom>(join(old.path, BOM_FILE));
      expect(bom.components.map((c) => c['bom-ref'])).not.toContain('holdout');
    } finally {
      await oldHome.remove();
    }
  });

  it('stays small: iris and the 30-feature breast-cancer model', async () => {
    const cancer = await packageInput(home.path, 'breast-cancer');
    const irisBytes = JSON.stringify(manifest.referenceProfile).length;
    const cancerBytes = JSON.stringify(cancer.validation.profile).length;
    expect(cancer.validation.profile?.features).toHaveLength(30);
    expect(irisBytes).toBeLessThan(4_000);
    expect(cancerBytes).toBeLessThan(24_000);
  });
});
