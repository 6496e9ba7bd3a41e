/** A bundle made by the real pipeline activities (resolve, validate, scan, package) serves as is. */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { createPackageActivities, type ModelBundle } from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import { deploymentRef, exampleInterface, testSources, version } from '../activities/support.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { infer, irisRequest, outputsOf, scratchDir, startTestServer, type TestServer } from './support.ts';

describe('a bundle from packageModel', () => {
  let home: Awaited<ReturnType<typeof scratchDir>>;
  let bundle: ModelBundle;
  let t: TestServer;

  beforeAll(async () => {
    home = await scratchDir();
    const deps = { home: home.path, ...testSources(home.path) };
    const model = version('iris', 'v2');
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
        holdout: { path: 'models/iris/holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
        metrics: { accuracy: { min: 0.85 } },
      },
    });
    const scan = await createScanActivities(deps).scanModel({ deployment, artifact });
    const specText = exampleSpecYaml({ dataset: 'iris', version: 'v2' });
    bundle = await createPackageActivities(deps).packageModel({
      deployment,
      artifact,
      specText,
      validation,
      scan,
    });
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
    await home?.remove();
  });

  it('loads with the manifest digest, verifies its files, and answers', async () => {
    // The model card sits beside the files the data plane reads; it must not stop the load.
    expect(await readdir(bundle.path)).toContain('MODEL_CARD.md');
    const state = await t.admin.loadVersion({ model: 'iris', version: 'v2', bundlePath: bundle.path });
    expect(state.stable).toEqual({ version: 'v2', bundleDigest: bundle.digest });
    const reply = await infer(t.url, 'iris', irisRequest([[6.3, 2.8, 5.1, 1.5]]));
    expect(reply.status).toBe(200);
    expect(outputsOf(reply)[0]?.data).toEqual([1]);
  });
});
