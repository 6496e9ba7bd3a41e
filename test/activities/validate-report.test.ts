/**
 * The deeper validation report on the committed models, run for real: onnxruntime-node in the
 * isolated child, the holdout CSVs, a real package step, and a real data plane whose stable
 * version's bundle the candidate's importances are compared with.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { createDataPlaneActivities } from '../../activities/data-plane.ts';
import { FailureType } from '../../activities/failures.ts';
import { createPackageActivities } from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { adminStableManifests, fleetStableManifests } from '../../activities/stable-importance.ts';
import { createValidateActivities, type ValidationReport } from '../../activities/validate.ts';
import { openFileDesiredStateStore } from '../../desired-state/file-store.ts';
import { serveFirstVersion } from '../../desired-state/routing.ts';
import { BOM_FILE, type BundleManifest } from '../../domain/bundle-format.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import type { ValidationSpec } from '../../specs/schema.ts';
import type { CdxBom } from '../../supply-chain/evidence/cyclonedx.ts';
import { validateBom } from '../../supply-chain/evidence/validate-bom.ts';
import { startTestServer, type TestServer } from '../serving/support.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
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

function validationOf(name: DatasetName, extra: Partial<ValidationSpec> = {}): ValidationSpec {
  return {
    holdout: {
      path: dataset(name).holdout.path,
      labelColumn: 'label',
      predictionOutput: 'label',
      probabilityOutput: 'probabilities',
    },
    metrics: { accuracy: { min: 0.85 } },
    ...extra,
  };
}

describe('the deeper validation report', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let validateModel: ReturnType<typeof createValidateActivities>['validateModel'];
  const reports = new Map<string, ValidationReport>();

  async function stored(name: DatasetName, versionName: string): Promise<ResolvedArtifact> {
    const model = version(name, versionName);
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    return resolveArtifact({ deployment: deploymentRef(), source: model.path, sha256: model.sha256 });
  }

  /** The report of a committed model on its committed holdout, measured once per test file. */
  async function reportOf(name: DatasetName, versionName: string): Promise<ValidationReport> {
    const key = `${name}/${versionName}`;
    const known = reports.get(key);
    if (known) return known;
    const report = await validateModel({
      deployment: deploymentRef(),
      artifact: await stored(name, versionName),
      interface: exampleInterface(name),
      validation: validationOf(name),
    });
    reports.set(key, report);
    return report;
  }

  beforeAll(async () => {
    home = await tempDir('validate-report');
    ({ validateModel } = createValidateActivities({ home: home.path, ...testSources(home.path) }));
  });
  afterAll(async () => {
    await home.remove();
  });

  it.each([
    ['iris', 'v1'],
    ['breast-cancer', 'v2'],
  ] as const)(
    '%s %s: per-class metrics and a confusion matrix that add up to the holdout',
    async (name, v) => {
      const report = await reportOf(name, v);
      const classes = report.analysis?.classes;
      const rows = dataset(name).holdout.rows;
      expect(classes?.perClass.map((c) => c.class)).toEqual(dataset(name).classes.map((_, i) => i));
      expect(classes?.perClass.reduce((sum, c) => sum + c.support, 0)).toBe(rows);
      const matrix = classes?.confusion.matrix ?? [];
      expect(matrix.flat().reduce((a, b) => a + b, 0)).toBe(rows);
      const diagonal = matrix.reduce((sum, row, i) => sum + (row[i] ?? 0), 0);
      expect(diagonal / rows).toBeCloseTo(version(name, v).holdout_accuracy, 3);
      expect(classes?.macro.f1).toBeCloseTo(
        report.metrics.find((m) => m.name === 'f1Macro')?.value ?? -1,
        12,
      );
    },
  );

  it('measures calibration from the probability output', async () => {
    const calibration = (await reportOf('iris', 'v1')).analysis?.calibration;
    if (!calibration || !('ece' in calibration)) throw new Error(JSON.stringify(calibration));
    expect(calibration.output).toBe('probabilities');
    expect(calibration.bins.reduce((sum, bin) => sum + bin.rows, 0)).toBe(45);
    expect(calibration.ece).toBeGreaterThan(0);
    expect(calibration.ece).toBeLessThan(0.25);
    // A good classifier: far below the 2 of always certain and always wrong.
    expect(calibration.brier).toBeLessThan(0.2);
  });

  it.each(['v1', 'v2'])('iris %s: the petal features matter more than the sepal features', async (v) => {
    const importance = (await reportOf('iris', v)).explanations?.importance;
    expect(importance?.features).toHaveLength(4);
    const mean = (feature: string) =>
      importance?.features.find((f) => f.feature === feature)?.mean ?? Number.NaN;
    const petal = Math.min(mean('petal_length_cm'), mean('petal_width_cm'));
    const sepal = Math.max(mean('sepal_length_cm'), mean('sepal_width_cm'));
    expect(petal).toBeGreaterThan(sepal);
    expect(
      importance?.features
        .slice(0, 2)
        .map((f) => f.feature)
        .sort(),
    ).toEqual(['petal_length_cm', 'petal_width_cm']);
    expect(importance).toMatchObject({
      rows: 45,
      repeats: 5,
      seed: 0,
      complete: true,
      modelRows: 4 * 5 * 45,
    });
  });

  it('is reproducible: the same seed gives the same importances', async () => {
    const again = await validateModel({
      deployment: deploymentRef(),
      artifact: await stored('iris', 'v1'),
      interface: exampleInterface('iris'),
      validation: validationOf('iris'),
    });
    const first = await reportOf('iris', 'v1');
    expect(again.explanations?.importance?.features).toEqual(first.explanations?.importance?.features);
  });

  it('measures all 30 breast-cancer features within its bounds, and says what it cost', async () => {
    const importance = (await reportOf('breast-cancer', 'v2')).explanations?.importance;
    expect(importance?.features).toHaveLength(30);
    expect(importance).toMatchObject({ rows: 171, plannedRows: 171, complete: true, omittedFeatures: 0 });
    // 30 features × 5 repeats × 171 rows, predicted in batches like the holdout pass.
    expect(importance?.modelRows).toBe(25_650);
    expect(importance?.elapsedMs).toBeGreaterThan(0);
    expect(importance?.elapsedMs).toBeLessThan(60_000);
    console.info(
      `breast-cancer v2 permutation importance: ${importance?.modelRows} rows in ${importance?.elapsedMs} ms`,
    );
  });

  it('samples the rows when the holdout has more than maxRows, and can be turned off', async () => {
    const sampled = await validateModel({
      deployment: deploymentRef(),
      artifact: await stored('breast-cancer', 'v1'),
      interface: exampleInterface('breast-cancer'),
      validation: validationOf('breast-cancer', {
        importance: {
          enabled: true,
          repeats: 2,
          maxRows: 60,
          seed: 4,
          budget: '60s',
          budgetMs: 60_000,
          topK: 5,
        },
      }),
    });
    expect(sampled.explanations?.importance).toMatchObject({
      rows: 60,
      repeats: 2,
      seed: 4,
      modelRows: 30 * 2 * 60,
    });
    const off = await validateModel({
      deployment: deploymentRef(),
      artifact: await stored('iris', 'v1'),
      interface: exampleInterface('iris'),
      validation: validationOf('iris', {
        importance: {
          enabled: false,
          repeats: 5,
          maxRows: 2000,
          seed: 0,
          budget: '60s',
          budgetMs: 60_000,
          topK: 5,
        },
      }),
    });
    expect(off.explanations).toBeUndefined();
    expect(off.analysis?.classes.perClass).toHaveLength(3);
  });

  describe('slices of a holdout with a column that is not a model input', () => {
    let repo: string;
    beforeAll(async () => {
      // The committed iris holdout with a `site` column second: north for setosa (three of its
      // rows "tiny"), south for versicolor, east for virginica, which v1 gets 12 of 15 right.
      repo = join(home.path, 'sliced');
      await mkdir(repo, { recursive: true });
      const [header, ...lines] = (await readFile(join(REPO_ROOT, 'models/iris/holdout.csv'), 'utf8'))
        .trim()
        .split('\n');
      let tiny = 0;
      const sited = lines.map((line) => {
        const cells = line.split(',');
        const label = cells.at(-1);
        let site = label === '0' ? 'north' : label === '1' ? 'south' : 'east';
        if (site === 'north' && tiny < 3) {
          tiny += 1;
          site = 'tiny';
        }
        return [cells[0], site, ...cells.slice(1)].join(',');
      });
      const columns = (header ?? '').split(',');
      await writeFile(
        join(repo, 'holdout.csv'),
        `${[columns[0], 'site', ...columns.slice(1)].join(',')}\n${sited.join('\n')}\n`,
      );
    });

    it('fails a group below its floor, naming the column, the value, its rows and accuracy', async () => {
      const artifact = await stored('iris', 'v1');
      const failure = await expectDomainFailure(
        validateModel({
          deployment: deploymentRef(repo),
          artifact,
          interface: exampleInterface('iris'),
          validation: {
            holdout: { path: 'holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
            metrics: { accuracy: { min: 0.85 } },
            slices: [{ column: 'site', minAccuracy: 0.9, minRows: 10 }],
          },
        }),
        FailureType.ValidationFailed,
      );
      expect(failure.message).toContain('accuracy 0.9111 ok (min 0.85)');
      expect(failure.message).toMatch(/; slice site="east": 15 rows, accuracy 0\.8 < min 0\.9$/);
      const report = detailsOf<ValidationReport>(failure);
      expect(report.passed).toBe(false);
      const slice = report.analysis?.slices?.[0];
      expect(slice?.groups.map((g) => [g.value, g.rows, g.judged, g.passed])).toEqual([
        ['east', 15, true, false],
        ['south', 15, true, true],
        ['north', 12, true, true],
        ['tiny', 3, false, true],
      ]);
      // The slice column is not fed to the model: the four measurements stay its inputs.
      expect(report.explanations?.importance?.features.map((f) => f.feature).sort()).toEqual(
        [...dataset('iris').features].sort(),
      );
    });

    it('passes when every judged group meets the floors, and reports the small group unjudged', async () => {
      const artifact = await stored('iris', 'v1');
      const report = await validateModel({
        deployment: deploymentRef(repo),
        artifact,
        interface: exampleInterface('iris'),
        validation: {
          holdout: { path: 'holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
          metrics: { accuracy: { min: 0.85 } },
          slices: [{ column: 'site', minAccuracy: 0.75, maxAccuracyGap: 0.15, minRows: 10 }],
        },
      });
      expect(report.passed).toBe(true);
      expect(report.analysis?.slices?.[0]).toMatchObject({ column: 'site', passed: true, groupCount: 4 });
      expect(report.profile?.features.map((f) => f.name)).toEqual(dataset('iris').features);
    });

    it('names a slice column the holdout does not have', async () => {
      const artifact = await stored('iris', 'v1');
      const failure = await expectDomainFailure(
        validateModel({
          deployment: deploymentRef(repo),
          artifact,
          interface: exampleInterface('iris'),
          validation: {
            holdout: { path: 'holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
            metrics: {},
            slices: [{ column: 'region', minRows: 10 }],
          },
        }),
        FailureType.InvalidHoldout,
      );
      expect(failure.message).toContain('holdout.csv: no slice column "region" in the header');
    });
  });

  describe('against the stable version on a real data plane', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('packages the report into the manifest and the BOM, and compares a candidate with it', async () => {
      const deps = { home: home.path, ...testSources(home.path) };
      const deployment = { ...deploymentRef(), model: 'iris' };
      const stableArtifact = await stored('iris', 'v1');
      const stableReport = await reportOf('iris', 'v1');
      const scan = await createScanActivities(deps).scanModel({ deployment, artifact: stableArtifact });
      const bundle = await createPackageActivities(deps).packageModel({
        deployment,
        artifact: stableArtifact,
        specText: exampleSpecYaml({ dataset: 'iris', version: 'v1' }),
        validation: stableReport,
        scan,
      });

      const manifest = JSON.parse(await readFile(bundle.manifestPath, 'utf8')) as BundleManifest & {
        validation: ValidationReport;
      };
      expect(manifest.validation.analysis).toEqual(stableReport.analysis);
      expect(manifest.validation.explanations?.importance).toEqual(stableReport.explanations?.importance);

      const bom = JSON.parse(await readFile(join(bundle.path, BOM_FILE), 'utf8')) as CdxBom;
      expect(await validateBom(bom)).toEqual([]);
      const card = bom.metadata.component.modelCard;
      expect(card?.quantitativeAnalysis.performanceMetrics).toContainEqual({
        type: 'recall',
        value: '0.8',
        slice: 'class=2',
      });
      const properties = Object.fromEntries((card?.properties ?? []).map((p) => [p.name, p.value]));
      expect(properties['modelship:confusionMatrix']).toBe(
        JSON.stringify({ classes: [0, 1, 2], matrix: stableReport.analysis?.classes.confusion.matrix }),
      );
      expect(properties['modelship:importance:petal_length_cm']).toMatch(/^[\d.]+ ± [\d.]+ \(rank [12]\)$/);

      const admin = server.admin;
      const dataPlane = createDataPlaneActivities({ admin, bundlesDir: join(home.path, 'bundles') });
      const loaded = await dataPlane.loadIntoDataPlane({ deployment, bundle });
      expect(loaded.becameStable).toBe(true);

      const compared = createValidateActivities({
        ...deps,
        stableManifests: adminStableManifests({ admin, bundlesDir: join(home.path, 'bundles') }),
      });
      const candidate = await compared.validateModel({
        deployment,
        artifact: await stored('iris', 'v2'),
        interface: exampleInterface('iris'),
        validation: validationOf('iris'),
      });
      const shift = candidate.explanations?.shift;
      expect(shift?.stable).toEqual({ version: loaded.version, bundleDigest: bundle.digest });
      // Both lean on the petals first: the same top two, in either order.
      expect(shift).toMatchObject({ k: 4, commonFeatures: 4 });
      expect(shift?.topCandidate.slice(0, 2).sort()).toEqual(['petal_length_cm', 'petal_width_cm']);
      expect(shift?.topStable.slice(0, 2).sort()).toEqual(['petal_length_cm', 'petal_width_cm']);
      expect(shift?.overlap).toBe(4);
      expect(shift?.kendallTau).toBeGreaterThan(0);

      const firstOfItsName = await compared.validateModel({
        deployment: { ...deployment, model: 'iris-new' },
        artifact: await stored('iris', 'v2'),
        interface: exampleInterface('iris'),
        validation: validationOf('iris'),
      });
      expect(firstOfItsName.explanations?.shiftUnavailable).toBe('the model has no stable version yet');

      // A fleet: the desired state names the stable by the OCI digest the package step pushed
      // the bundle under, and the manifest comes from the environment's store (here the layout
      // under <home>/oci), not from the bundles directory.
      const desired = await openFileDesiredStateStore(join(home.path, 'desired-state'));
      try {
        const published = bundle.published?.digest ?? '';
        await desired.update(deployment.environment, (models) =>
          serveFirstVersion(models, deployment.model, { version: loaded.version, bundle: published }),
        );
        const fleet = createValidateActivities({
          ...deps,
          stableManifests: fleetStableManifests({ desired, stores: bundleStores({ home: home.path }) }),
        });
        const fromFleet = await fleet.validateModel({
          deployment,
          artifact: await stored('iris', 'v2'),
          interface: exampleInterface('iris'),
          validation: validationOf('iris'),
        });
        expect(fromFleet.explanations?.shift).toEqual(shift);
      } finally {
        await desired.close();
      }
    });

    it('reports, without failing, a stable version it cannot read', async () => {
      const deps = { home: home.path, ...testSources(home.path) };
      const deployment = { ...deploymentRef(), model: 'iris-elsewhere' };
      const admin = server.admin;
      const elsewhere = await tempDir('validate-report-elsewhere');
      try {
        // Packaged into another home: this worker's bundles directory does not have it.
        const other = { home: elsewhere.path, ...testSources(elsewhere.path) };
        const artifact = await stored('iris', 'v1');
        const bundle = await createPackageActivities(other).packageModel({
          deployment,
          artifact,
          specText: exampleSpecYaml({ dataset: 'iris', version: 'v1', name: 'iris-elsewhere' }),
          validation: await reportOf('iris', 'v1'),
          scan: await createScanActivities(other).scanModel({ deployment, artifact }),
        });
        await createDataPlaneActivities({
          admin,
          bundlesDir: join(elsewhere.path, 'bundles'),
        }).loadIntoDataPlane({
          deployment,
          bundle,
        });
        const report = await createValidateActivities({
          ...deps,
          stableManifests: adminStableManifests({ admin, bundlesDir: join(home.path, 'bundles') }),
        }).validateModel({
          deployment,
          artifact: await stored('iris', 'v2'),
          interface: exampleInterface('iris'),
          validation: validationOf('iris'),
        });
        expect(report.passed).toBe(true);
        expect(report.explanations?.shift).toBeUndefined();
        expect(report.explanations?.shiftUnavailable).toMatch(
          /^the stable version could not be read through the admin API: ENOENT: no such file or directory/,
        );
      } finally {
        await elsewhere.remove();
      }
    });
  });
});
