/**
 * `modelship deploy` as a user runs it, against the shared dev server: a separate process parses
 * the spec, starts DeployModel, waits, prints the outcome and sets its exit code.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let taskQueue: string;
let stack: TestStack;
let repo: TempRepo;

/** Runs the CLI asynchronously: the worker in this process must keep running while it waits. */
function modelship(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [repoPath('bin/modelship.mjs'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), MODELSHIP_TASK_QUEUE: taskQueue },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  stack = await startTestStack('deploy-cli');
  ({ taskQueue } = stack);
  repo = await createTempRepo();
  await repo.copyFromProject('models/breast-cancer/v1/model.onnx');
  await repo.copyFromProject('models/breast-cancer/bad-accuracy/model.onnx');
  await repo.copyFromProject('models/breast-cancer/holdout.csv');
  await repo.write(
    'specs/good.yaml',
    exampleSpecYaml({ name: 'bc-cli', dataset: 'breast-cancer', version: 'v1' }),
  );
  await repo.write(
    'specs/bad.yaml',
    exampleSpecYaml({ name: 'bc-cli-bad', dataset: 'breast-cancer', version: 'bad-accuracy' }),
  );
  await repo.write(
    'specs/invalid.yaml',
    'apiVersion: modelship.dev/v1\nkind: ModelDeployment\nmetadata: {}\n',
  );
  await repo.commit('specs');
});

afterAll(async () => {
  await stack?.stop();
  await repo?.remove();
});

describe.concurrent('modelship deploy', () => {
  it('prints the outcome and exits 0', async () => {
    const run = await modelship(['deploy', join(repo.root, 'specs/good.yaml')]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('deploy: started deploy/staging/bc-cli');
    expect(run.stdout).toMatch(/deploy: serving: bc-cli@staging serving version [0-9a-f]{12} to all traffic/);
    expect(run.status).toBe(0);
  });

  it('prints why a model was rejected and exits 1', async () => {
    const run = await modelship(['deploy', join(repo.root, 'specs/bad.yaml')]);
    expect(run.stdout).toMatch(
      /deploy: rejected: bc-cli-bad@staging rejected at validating: .*accuracy 0\.\d+ < min 0\.85/,
    );
    expect(run.status).toBe(1);
  });

  it('refuses an invalid spec with positions before anything reaches Temporal', async () => {
    const run = await modelship(['deploy', join(repo.root, 'specs/invalid.yaml')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/specs\/invalid\.yaml:3:11 {2}metadata\.name: /);
    expect(run.stdout).not.toContain('started');
  });
});
