/**
 * Real bundles of the committed example models for the benchmark, made the way DeployModel makes
 * them: resolve the artifact, validate, scan, package, with the model and holdout fetched from
 * this project's repository at HEAD by a worker's own Git cache. The spec text comes from the
 * same helper the tests use, so the bench serves exactly what a rollout would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { createArtifactActivities, createArtifactStore } from '../../activities/artifact.ts';
import { createPackageActivities } from '../../activities/package.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { gitSourceTrees } from '../../activities/source-tree.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import type { DeploymentRef } from '../../domain/deployment.ts';
import { parseHoldoutCsv } from '../../model/holdout.ts';
import { GitCheckouts } from '../../sources/git/checkouts.ts';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { committedDigest, exampleSpecYaml } from '../../test/support/model-catalog.ts';
import { REPO_ROOT } from '../../test/support/paths.ts';

export type Dataset = 'iris' | 'breast-cancer';

/**
 * The spec's input with a range constraint on every column (`onViolation: count`), from the
 * holdout's own range widened by its width on each side, so that holdout rows pass: what a
 * careful spec author would declare, and what the data plane then checks on every row.
 */
async function withColumnRanges(specText: string, dataset: Dataset): Promise<string> {
  const path = join(REPO_ROOT, 'models', dataset, 'holdout.csv');
  const parsed = parseHoldoutCsv(await readFile(path, 'utf8'), 'label', path);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const { featureNames, features, rows } = parsed.data;
  const width = featureNames.length;
  const columns = featureNames.map((name, c) => {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < rows; r += 1) {
      const value = features[r * width + c] as number;
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    const spread = max - min || 1;
    return `          - { name: ${name}, min: ${min - spread}, max: ${max + spread} }`;
  });
  const line = `      - { name: input, dtype: float32, shape: [-1, ${width}] }\n`;
  if (!specText.includes(line)) throw new Error(`the ${dataset} spec has no input line to constrain`);
  const input = `      - name: input\n        dtype: float32\n        shape: [-1, ${width}]\n        features:\n${columns.join('\n')}\n        onViolation: count\n`;
  return specText.replace(line, input);
}

/**
 * Packages `dataset/version` under `home`; returns the bundle directory. The bundle carries the
 * holdout's reference profile (validation makes it) and, with `constrained`, a range constraint
 * on every input column.
 */
export async function packageExampleBundle(
  home: string,
  dataset: Dataset,
  version: string,
  options: { constrained?: boolean } = {},
): Promise<string> {
  const plainSpec = exampleSpecYaml({
    dataset,
    version,
    name: dataset,
    environment: 'bench',
    minAccuracy: 0.5,
  });
  const specText = options.constrained ? await withColumnRanges(plainSpec, dataset) : plainSpec;
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
