/**
 * Real bundles of the committed example models for the benchmark, made the way DeployModel makes
 * them: resolve the artifact, validate, scan, package, with the model and holdout fetched from
 * this project's repository at HEAD by a worker's own Git cache. The spec text comes from the
 * same helper the tests use, so the bench serves exactly what a rollout would.
 */
import { simpleGit } from 'simple-git';
import { createArtifactActivities, createArtifactStore } from '../../activities/artifact.ts';
import { createPackageActivities } from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { gitSourceTrees } from '../../activities/source-tree.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import type { DeploymentRef } from '../../domain/deployment.ts';
import { GitCheckouts } from '../../sources/git/checkouts.ts';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { committedDigest, exampleSpecYaml } from '../../test/support/model-catalog.ts';
import { REPO_ROOT } from '../../test/support/paths.ts';

export type Dataset = 'iris' | 'breast-cancer';

/** Packages `dataset/version` under `home`; returns the bundle directory. */
export async function packageExampleBundle(home: string, dataset: Dataset, version: string): Promise<string> {
  const specText = exampleSpecYaml({
    dataset,
    version,
    name: dataset,
    environment: 'bench',
    minAccuracy: 0.5,
  });
  const specPath = `specs/${dataset}.yaml`;
  const parsed = parseSpec(specText, { file: specPath });
  if (!parsed.ok) throw new Error(parsed.errors.map(formatSpecError).join('\n'));
  const { spec } = parsed.spec;
  const deployment: DeploymentRef = {
    model: dataset,
    environment: 'bench',
    commit: (await simpleGit(REPO_ROOT).revparse(['HEAD'])).trim(),
    specPath,
    repository: REPO_ROOT,
  };
  const trees = gitSourceTrees(new GitCheckouts({ home }));
  const artifacts = createArtifactStore({ home, trees });
  const source = `models/${dataset}/${version}/model.onnx`;
  const artifact = await createArtifactActivities({ store: artifacts }).resolveArtifact({
    deployment,
    source,
    sha256: committedDigest(source),
  });
  const validation = await createValidateActivities({ home, trees, artifacts }).validateModel({
    deployment,
    artifact,
    interface: spec.interface,
    validation: spec.validation,
  });
  const scan = await createScanActivities({ artifacts }).scanModel({ deployment, artifact });
  const bundle = await createPackageActivities({ home, artifacts }).packageModel({
    deployment,
    artifact,
    specText,
    validation,
    scan,
  });
  return bundle.path;
}
