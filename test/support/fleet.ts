/**
 * Shared pieces of the tests of a data plane that follows desired state: a repository holding
 * iris v1 and v2 whose spec each test commits and deploys, and replica reports written into the
 * store the way a replica writes them.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import type { ReplicaStatus } from '../../desired-state/types.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { createTempRepo, type TempRepo } from './git-repo.ts';
import { exampleSpecYaml } from './model-catalog.ts';

/** A repository with the committed iris v1 and v2 models and the holdout, no spec yet. */
export async function irisRepo(prefix: string): Promise<TempRepo> {
  const repo = await createTempRepo(prefix);
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  return repo;
}

/**
 * Commits `model`'s spec at `version` (by default 50 % canary, a pause, then 100 %) and starts
 * its rollout; `version` names a model under `models/iris/` the repository holds.
 */
export async function commitAndDeploy(options: {
  repo: TempRepo;
  client: Client;
  taskQueue: string;
  model: string;
  version: 'v1' | 'v2' | 'bad-disagree';
  pause: string;
  steps?: string[];
  /** The spec's `analysis:` block, as YAML text. */
  analysis?: string;
  /** Default `staging`. */
  environment?: string;
}) {
  const { repo } = options;
  await repo.write(
    'specs/iris.yaml',
    exampleSpecYaml({
      name: options.model,
      dataset: 'iris',
      version: options.version,
      minAccuracy: 0.8,
      postPromotionWindow: '1s',
      steps: options.steps ?? ['setWeight: 50', `pause: { duration: ${options.pause} }`, 'setWeight: 100'],
      ...(options.analysis ? { analysis: options.analysis } : {}),
      ...(options.environment ? { environment: options.environment } : {}),
    }),
  );
  await repo.commit(`iris ${options.version}`);
  const input = await loadDeploymentInput(join(repo.root, 'specs/iris.yaml'));
  return startDeployment(options.client, options.taskQueue, input);
}

/** Writes replica reports for `environment` into `desired`, as a replica would. */
export function replicaReporter(desired: () => DesiredStateStore, environment: string) {
  return (replica: string, generation: number, serving: number, status: ReplicaStatus, message?: string) =>
    desired().report({
      environment,
      replica,
      generation,
      serving,
      status,
      startedAt: new Date().toISOString(),
      ...(message ? { message } : {}),
    });
}
