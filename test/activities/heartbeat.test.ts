import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import {
  createValidateActivities,
  type ValidateModelInput,
  type ValidationReport,
} from '../../activities/validate.ts';
import {
  dataset,
  deploymentRef,
  directoryTrees,
  exampleInterface,
  tempDir,
  testSources,
  version,
} from './support.ts';

/** The same activities inside a (mock) activity context: heartbeats are sent and cancellation stops them. */
describe('validateModel inside an activity', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let input: ValidateModelInput;
  beforeAll(async () => {
    home = await tempDir('heartbeat');
    const model = version('breast-cancer', 'v2');
    const artifact: ResolvedArtifact = await createArtifactActivities({
      home: home.path,
      trees: directoryTrees(),
    }).resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });
    input = {
      deployment: deploymentRef(),
      artifact,
      interface: exampleInterface('breast-cancer'),
      validation: {
        holdout: {
          path: dataset('breast-cancer').holdout.path,
          labelColumn: 'label',
          predictionOutput: 'label',
        },
        metrics: {},
      },
    };
  });
  afterAll(async () => {
    await home.remove();
  });

  it('heartbeats through the holdout pass and the latency runs', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const { validateModel } = createValidateActivities({
      home: home.path,
      ...testSources(home.path),
      batchSize: 64,
    });
    const report = (await env.run(validateModel, input)) as ValidationReport;
    expect(report.passed).toBe(true);
    expect(beats).toContainEqual({ phase: 'holdout', rows: 64 });
    expect(beats).toContainEqual({ phase: 'holdout', rows: 171 });
    expect(beats).toContainEqual({ phase: 'latency', runs: 50 });
  });

  it('stops with a CancelledFailure when the workflow cancels it', async () => {
    const env = new MockActivityEnvironment();
    env.on('heartbeat', () => env.cancel());
    const { validateModel } = createValidateActivities({ home: home.path, ...testSources(home.path) });
    await expect(env.run(validateModel, input)).rejects.toBeInstanceOf(CancelledFailure);
  });
});
