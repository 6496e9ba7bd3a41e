/**
 * `modelship card` as a user runs it: the real bin, a bundle packaged by the real activities
 * (iris v1 validated in the isolated child, a spec with `metadata.modelCard`), and a real SQLite
 * audit log saying which bundle serves; then the answers for what is not there.
 */
import { execFile } from 'node:child_process';
import { cp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { createPackageActivities, type ModelBundle } from '../../activities/package.ts';
import { publishBundle } from '../../activities/publish-bundle.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import { openAuditStore } from '../../audit/open.ts';
import { parseBundleManifest } from '../../domain/bundle-format.ts';
import { sha256Hex } from '../../model/files.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { deploymentRef, exampleInterface, tempDir, testSources, version } from '../activities/support.ts';
import { bundleOf, story } from '../audit/fixtures/history-records.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';

const SPEC_TEXT = exampleSpecYaml({ name: 'iris', dataset: 'iris', version: 'v1' }).replace(
  '  owners: [ml-platform]\n',
  `  owners: [ml-platform, botany]
  description: Iris species from four flower measurements.
  modelCard:
    intendedUse: Demos of modelship's rollouts.
    outOfScope: [Identifying plants in the field]
    limitations: [Trained on 150 flowers of one collection]
`,
);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function modelship(args: string[]): Promise<Run> {
  const { MODELSHIP_HOME: _home, MODELSHIP_AUDIT_URL: _url, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [repoPath('bin/modelship.mjs'), ...args],
      { env: inherited },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('modelship card', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let bundle: ModelBundle;

  beforeAll(async () => {
    home = await tempDir('card');
    const deps = { home: home.path, ...testSources(home.path) };
    const model = version('iris', 'v1');
    const deployment = { ...deploymentRef(), model: 'iris' };
    const artifact = await createArtifactActivities(deps).resolveArtifact({
      deployment,
      source: model.path,
      sha256: model.sha256,
    });
    const validation = await createValidateActivities(deps).validateModel({
      deployment,
      artifact,
      interface: exampleInterface('iris'),
      validation: {
        holdout: {
          path: 'models/iris/holdout.csv',
          labelColumn: 'label',
          predictionOutput: 'label',
          probabilityOutput: 'probabilities',
        },
        metrics: { accuracy: { min: 0.85 } },
      },
    });
    const scan = await createScanActivities(deps).scanModel({ deployment, artifact });
    bundle = await createPackageActivities(deps).packageModel({
      deployment,
      artifact,
      specText: SPEC_TEXT,
      validation,
      scan,
    });
    // iris@staging serves that bundle; iris@production serves one packaged on another machine.
    const log = story('iris', 'staging');
    log
      .run('r1', deployment.commit)
      .decide(0, 'stage.entered', { stage: 'serving' })
      .decide(0, 'deployment.serving', { version: bundle.digest.slice(0, 12), bundleDigest: bundle.digest });
    const production = story('iris', 'production');
    production
      .run('p1', deployment.commit)
      .decide(0, 'stage.entered', { stage: 'serving' })
      .decide(0, 'deployment.serving', { version: 'eeeeeeeeeeee', bundleDigest: bundleOf('eeeeeeeeeeee') });
    const store = await openAuditStore(home.path, undefined, { checkpoints: false });
    for (const event of [...log.events, ...production.events]) await store.append(event);
    await store.close();
  }, 60_000);
  afterAll(async () => {
    await home?.remove();
  });

  it('packages MODEL_CARD.md with its sections, listed in the manifest with its sha256', async () => {
    const text = await readFile(join(bundle.path, 'MODEL_CARD.md'), 'utf8');
    const manifest = parseBundleManifest(JSON.parse(await readFile(bundle.manifestPath, 'utf8')));
    if (!manifest.ok) throw new Error(manifest.errors.join('; '));
    expect(manifest.manifest.modelCard).toEqual({
      path: 'MODEL_CARD.md',
      sha256: sha256Hex(text),
      sizeBytes: Buffer.byteLength(text),
    });
    for (const heading of [
      '# Model card: iris',
      '## Intended use',
      '## Limitations',
      '## Headline metrics',
      '## Per class',
      '## Confusion matrix',
      '## Calibration',
      '## Slices',
      '## What drives its predictions',
      '## Against the stable version',
      '## Training provenance',
      '## Digests',
    ]) {
      expect(text).toContain(`\n${heading}\n`.replace(/^\n# /, '# '));
    }
    expect(text).toContain("Demos of modelship's rollouts.");
    expect(text).toContain(`- Bundle: \`${bundle.digest}\``);
  });

  it('prints the card of the bundle serving in the environment, and of a bundle directory', async () => {
    const card = await readFile(join(bundle.path, 'MODEL_CARD.md'), 'utf8');
    const run = await modelship(['card', 'iris', '--env', 'staging', '--home', home.path]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(card);
    const direct = await modelship(['card', '--bundle', bundle.path]);
    expect(direct.code).toBe(0);
    expect(direct.stdout).toBe(card);
  });

  it('prints the signed BOM’s modelCard with --json', async () => {
    const run = await modelship(['card', 'iris', '--env', 'staging', '--home', home.path, '--json']);
    expect(run.code).toBe(0);
    const card = JSON.parse(run.stdout) as {
      considerations?: { useCases?: string[]; technicalLimitations?: string[] };
      quantitativeAnalysis: { performanceMetrics: { type: string; slice?: string }[] };
    };
    expect(card.considerations).toEqual({
      useCases: ["Demos of modelship's rollouts."],
      technicalLimitations: [
        'Trained on 150 flowers of one collection',
        'Out of scope: Identifying plants in the field',
      ],
    });
    expect(card.quantitativeAnalysis.performanceMetrics).toContainEqual(
      expect.objectContaining({ type: 'f1', slice: 'class=2' }),
    );
  });

  it("pulls the card from the environment's OCI store when the bundle was packaged elsewhere", async () => {
    // Another machine: the same audit log, no bundles/, the bundle only in the environment's store.
    const other = await tempDir('card-elsewhere');
    try {
      const deployment = { ...deploymentRef(), model: 'iris', environment: 'fleet' };
      const stores = bundleStores({ home: other.path });
      await publishBundle(stores, { deployment, bundleDir: bundle.path, bundleDigest: bundle.digest });
      const log = story('iris', 'fleet');
      log
        .run('f1', deployment.commit)
        .decide(0, 'stage.entered', { stage: 'serving' })
        .decide(0, 'deployment.serving', {
          version: bundle.digest.slice(0, 12),
          bundleDigest: bundle.digest,
        });
      const audit = await openAuditStore(other.path, undefined, { checkpoints: false });
      for (const event of log.events) await audit.append(event);
      await audit.close();
      const run = await modelship(['card', 'iris', '--env', 'fleet', '--home', other.path]);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(await readFile(join(bundle.path, 'MODEL_CARD.md'), 'utf8'));
      await expect(stat(join(other.path, 'bundles'))).rejects.toThrow();
    } finally {
      await other.remove();
    }
  });

  it('says what is missing and where it looked', async () => {
    const unknownEnv = await modelship(['card', 'iris', '--env', 'qa', '--home', home.path]);
    expect(unknownEnv.code).toBe(1);
    expect(unknownEnv.stderr).toContain('has no record of iris@qa; iris is known in: production, staging');
    const unknownModel = await modelship(['card', 'tulip', '--env', 'staging', '--home', home.path]);
    expect(unknownModel.code).toBe(1);
    expect(unknownModel.stderr).toContain('no record names the model tulip');
    const elsewhere = await modelship(['card', 'iris', '--env', 'production', '--home', home.path]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(
      `which is not in ${home.path}/bundles, and it could not be pulled from modelship/iris:production-eeeeeeeeeeee in OCI layout ${join(home.path, 'oci')}`,
    );
    const noLog = await modelship(['card', 'iris', '--env', 'staging', '--home', join(home.path, 'none')]);
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toContain('card: no audit log at');
    // A bundle packaged before model cards: the manifest is there, the card is not.
    const old = join(home.path, 'old-bundle');
    await cp(bundle.path, old, { recursive: true });
    await rm(join(old, 'MODEL_CARD.md'), { force: true });
    const before = await modelship(['card', '--bundle', old]);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`has no MODEL_CARD.md (looked at ${join(old, 'MODEL_CARD.md')})`);
    // A card edited after packaging no longer matches the manifest's sha256 of it.
    await writeFile(join(old, 'MODEL_CARD.md'), '# Model card: iris\n\nAll good, trust me.\n');
    const edited = await modelship(['card', '--bundle', old]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain('it was changed after packaging');
    const usage = await modelship(['card', 'iris']);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('name one model and --env');
  });
});
