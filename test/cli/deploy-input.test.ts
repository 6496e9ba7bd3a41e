/**
 * `deploy`'s input for a spec file: the run names the spec's commit and the repository workers
 * fetch it from, never the working copy, so a spec with uncommitted changes is refused (a worker
 * would deploy the committed text, not what the user sees).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/command.ts';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

let repo: TempRepo;
let head: string;

beforeEach(async () => {
  repo = await createTempRepo('modelship-deploy-input-');
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  await repo.write(
    'specs/iris.yaml',
    exampleSpecYaml({ name: 'iris-input', dataset: 'iris', version: 'v1' }),
  );
  head = await repo.commit('iris v1');
});

afterEach(async () => {
  await repo.remove();
});

describe('loadDeploymentInput', () => {
  it('names the commit, the spec path and, by default, the checkout as the repository', async () => {
    const input = await loadDeploymentInput(join(repo.root, 'specs/iris.yaml'));
    expect(input.deployment).toMatchObject({
      model: 'iris-input',
      commit: head,
      specPath: 'specs/iris.yaml',
      repository: repo.root,
    });
  });

  it('names the repository URL it is given instead', async () => {
    const url = 'https://git.example.com/ml/models.git';
    const input = await loadDeploymentInput(join(repo.root, 'specs/iris.yaml'), url);
    expect(input.deployment.repository).toBe(url);
  });

  it('refuses a spec with uncommitted changes, saying the workers deploy the commit', async () => {
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ name: 'iris-input', dataset: 'iris', version: 'v1', minAccuracy: 0.5 }),
    );
    const refused = loadDeploymentInput(join(repo.root, 'specs/iris.yaml'));
    await expect(refused).rejects.toBeInstanceOf(CliError);
    await expect(refused).rejects.toThrow(/has changes that are not committed.*commit the spec first/);
  });
});
