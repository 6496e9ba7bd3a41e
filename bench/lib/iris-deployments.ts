/**
 * Many deployments of the committed iris models from one real temporary Git repository: one spec
 * per model name, all moved to a version in one commit, each started as `modelship deploy` starts
 * it (`loadDeploymentInput` + `startDeployment`). Different model names are independent
 * deployments (their own workflow id, routing and versions on the data plane) of the same ONNX
 * files, which keeps the work per rollout equal.
 */
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { createTempRepo, type TempRepo } from '../../test/support/git-repo.ts';
import { committedDigest } from '../../test/support/model-catalog.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';

export type IrisVersion = 'v1' | 'v2';

/**
 * An iris spec. Validation asks for accuracy only: its latency limits judge the host's
 * scheduling when a hundred validations share two cores, and this benchmark measures the
 * engine, not the model. The short post-promotion window only lets a promoted run finish soon
 * after promotion, which is where its measurement stops anyway.
 */
function irisSpecYaml(name: string, version: IrisVersion, steps: string[]): string {
  const source = `models/iris/${version}/model.onnx`;
  return `apiVersion: modelship.dev/v1
kind: ModelDeployment
metadata:
  name: ${name}
  owners: [ml-platform]
spec:
  model:
    source: ${source}
    sha256: ${committedDigest(source)}
  interface:
    inputs:
      - { name: input, dtype: float32, shape: [-1, 4] }
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
      - { name: probabilities, dtype: float32, shape: [-1, 3] }
  validation:
    holdout:
      path: models/iris/holdout.csv
      labelColumn: label
    metrics:
      accuracy: { min: 0.8 }
  rollout:
    environment: bench
    postPromotionWindow: 1s
    steps:
${steps.map((step) => `      - ${step}`).join('\n')}
`;
}

/** Runs `task` over `items` with at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export interface IrisFleet {
  models: string[];
  /** Every model's spec at `version` with `steps`, in one commit. */
  commit(version: IrisVersion, steps: string[]): Promise<void>;
  /** Starts DeployModel for `model` at the last commit, as `modelship deploy` does. */
  deploy(client: Client, taskQueue: string, model: string): Promise<WorkflowHandle<typeof DeployModel>>;
  remove(): Promise<void>;
}

export async function createIrisFleet(models: string[]): Promise<IrisFleet> {
  const repo: TempRepo = await createTempRepo('modelship-bench-iris-');
  for (const file of ['models/iris/v1/model.onnx', 'models/iris/v2/model.onnx', 'models/iris/holdout.csv']) {
    await repo.copyFromProject(file);
  }
  const specFile = (model: string) => join(repo.root, 'specs', `${model}.yaml`);
  return {
    models,
    async commit(version, steps) {
      for (const model of models)
        await repo.write(`specs/${model}.yaml`, irisSpecYaml(model, version, steps));
      await repo.commit(`${models.length} iris deployments at ${version}`);
    },
    async deploy(client, taskQueue, model) {
      return startDeployment(client, taskQueue, await loadDeploymentInput(specFile(model)));
    },
    remove: () => repo.remove(),
  };
}
