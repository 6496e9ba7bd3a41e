/**
 * DeployModel end to end on a real Temporal dev server: real git repositories, real ONNX models
 * run by onnxruntime-node, a real SQLite audit log. Each test asserts what an operator would
 * see: the outcome, the bundle on disk, the audit trail, the workflow's search attributes.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStore } from '../../audit/store.ts';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { RolloutStageKey } from '../../workflows/search-attributes.ts';
import type { TestDataPlane } from '../support/data-plane.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { committedDigest, type ExampleSpecOptions, exampleSpecYaml } from '../support/model-catalog.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let audit: AuditStore;
let client: Client;
let dataPlane: TestDataPlane;
let taskQueue: string;
let stack: TestStack;
const repos: TempRepo[] = [];

beforeAll(async () => {
  stack = await startTestStack('deploy-model');
  ({ taskQueue, audit, dataPlane, client } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(repos.map((repo) => repo.remove()));
});

/** A temp repo holding one spec and the model and holdout it names, committed. */
async function repoWithSpec(options: ExampleSpecOptions & { modelBytes?: Uint8Array }) {
  const repo = await createTempRepo();
  repos.push(repo);
  const modelPath = `models/${options.dataset}/${options.version}/model.onnx`;
  if (options.modelBytes) await repo.write(modelPath, options.modelBytes);
  else await repo.copyFromProject(modelPath);
  await repo.copyFromProject(`models/${options.dataset}/holdout.csv`);
  const specPath = `specs/${options.name ?? options.dataset}.yaml`;
  await repo.write(specPath, exampleSpecYaml(options));
  const commit = await repo.commit(`deploy ${options.dataset} ${options.version}`);
  return { repo, specFile: join(repo.root, specPath), commit };
}

async function deploy(specFile: string) {
  const input = await loadDeploymentInput(specFile);
  const handle = await startDeployment(client, taskQueue, input);
  const result = await handle.result();
  return { input, handle, result };
}

describe.concurrent('DeployModel', () => {
  it('takes a good model to the data plane and leaves a complete, verifiable audit trail', async () => {
    const { specFile, commit } = await repoWithSpec({ name: 'iris-good', dataset: 'iris', version: 'v2' });
    const { handle, result } = await deploy(specFile);

    expect(result.outcome).toBe('serving');
    expect(result.commit).toBe(commit);
    expect(result.summary).toContain(
      `iris-good@staging serving version ${result.dataPlane?.version} to all traffic`,
    );
    expect(result.validation?.metrics.find((m) => m.name === 'accuracy')?.value).toBeGreaterThan(0.85);

    // The bundle is on disk with the model, the spec as committed and a manifest.
    const bundlePath = result.bundle?.path ?? '';
    expect(existsSync(join(bundlePath, 'model.onnx'))).toBe(true);
    const manifest = JSON.parse(await readFile(join(bundlePath, 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toContain(commit);
    expect(await readFile(join(bundlePath, 'spec.yaml'), 'utf8')).toBe(await readFile(specFile, 'utf8'));

    // Web UI facts: the stage search attribute and the status query.
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(RolloutStageKey)).toBe('serving');
    const status = await handle.query<{ stage: string }>('status');
    expect(status.stage).toBe('serving');

    // The data plane answers for the model with the deployed version, over KServe V2.
    const response = await fetch(`${dataPlane.url}/v2/models/iris-good/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-modelship-version')).toBe(result.dataPlane?.version);

    // Every activity attempt and every decision is in the audit log, in order.
    const records = await audit.list({ workflowId: handle.workflowId });
    const run = records.filter((r) => r.runId === description.runId);
    const steps = run.map((r) => `${r.kind}:${r.step}`);
    for (const activity of [
      'authenticateOrigin',
      'resolveArtifact',
      'checkShipGates',
      'validateModel',
      'checkPolicy',
      'packageModel',
      'loadIntoDataPlane',
    ]) {
      expect(steps).toContain(`activity.started:${activity}`);
      expect(steps).toContain(`activity.completed:${activity}`);
    }
    // Serving, then the monitor of the version asked for (docs/monitoring.md).
    expect(steps.filter((step) => step.startsWith('workflow.decision:')).slice(-2)).toEqual([
      'workflow.decision:deployment.serving',
      'workflow.decision:monitor.requested',
    ]);
    expect(
      run.every((r) => r.model === 'iris-good' && r.environment === 'staging' && r.commit === commit),
    ).toBe(true);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('refuses a model whose bytes do not match the pinned digest, and the audit says why', async () => {
    const v1 = await readFile(new URL('../../models/iris/v1/model.onnx', import.meta.url));
    const tampered = Uint8Array.from(v1);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    const { specFile } = await repoWithSpec({
      name: 'iris-tampered',
      dataset: 'iris',
      version: 'v1',
      modelBytes: tampered,
    });
    const { handle, result } = await deploy(specFile);

    expect(result.outcome).toBe('rejected');
    expect(result.rejection?.step).toBe('resolving');
    expect(result.rejection?.type).toBe('DigestMismatch');
    expect(result.rejection?.message).toContain(committedDigest('models/iris/v1/model.onnx'));
    expect(result.bundle).toBeUndefined();

    const records = await audit.list({ workflowId: handle.workflowId });
    const failed = records.find((r) => r.kind === 'activity.failed' && r.step === 'resolveArtifact');
    expect(failed?.error?.type).toBe('DigestMismatch');
    // Domain failures are not retried: exactly one attempt.
    expect(records.filter((r) => r.kind === 'activity.started' && r.step === 'resolveArtifact')).toHaveLength(
      1,
    );
    expect(records.some((r) => r.step === 'validateModel')).toBe(false);
    expect(records.at(-1)?.step).toBe('deployment.rejected');
  });
});
