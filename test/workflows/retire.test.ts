import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStore } from '../../audit/store.ts';
import { type ApplyReport, applyChanges } from '../../gitops/apply.ts';
import { CommitReader } from '../../gitops/git.ts';
import { createAdminClient } from '../../serving/admin-client.ts';
import { RolloutStageKey } from '../../workflows/search-attributes.ts';
import type { TestDataPlane } from '../support/data-plane.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let taskQueue: string;
let stack: TestStack;
// Workflow ids are shared by every test file on the dev server: names of our own.
const MODEL = 'retire-iris';
const WORKFLOW_ID = `deploy/staging/${MODEL}`;
let audit: AuditStore;
let dataPlane: TestDataPlane;
let client: Client;
let repo: TempRepo;

function irisSpec(version: 'v1' | 'v2', steps?: string[]): string {
  return exampleSpecYaml({
    name: MODEL,
    dataset: 'iris',
    version,
    minAccuracy: 0.8,
    postPromotionWindow: '1s',
    ...(steps ? { steps } : {}),
  });
}

async function apply(
  base: string,
  head: string,
  wait = true,
): Promise<ApplyReport & { out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const report = await applyChanges({
    reader: await CommitReader.open(repo.root),
    repository: repo.root,
    base,
    head,
    connect: async () => client,
    taskQueue,
    wait,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { ...report, out, err };
}

async function latestRun(): Promise<{ runId: string; type: string; stage: unknown }> {
  const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
  return {
    runId: description.runId,
    type: description.type,
    stage: description.typedSearchAttributes.get(RolloutStageKey),
  };
}

async function waitForStage(stage: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
    if (description.typedSearchAttributes.get(RolloutStageKey) === stage) return;
    if (description.status.name !== 'RUNNING' || Date.now() > deadline) {
      throw new Error(`${WORKFLOW_ID} never reached ${stage} (status ${description.status.name})`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

const admin = () => createAdminClient({ baseUrl: dataPlane.url, token: dataPlane.adminToken });
const modelsOnDataPlane = async () => (await admin().models()).map((state) => state.model);

async function inferStatus(): Promise<number> {
  const response = await fetch(`${dataPlane.url}/v2/models/${MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
    }),
  });
  await response.text();
  return response.status;
}

beforeAll(async () => {
  stack = await startTestStack('retire');
  ({ taskQueue, audit, dataPlane, client } = stack);
  repo = await createTempRepo('modelship-retire-repo-');
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  await repo.write('README.md', 'models and specs\n');
});

afterAll(async () => {
  await stack?.stop();
  await repo?.remove();
});

describe.sequential('retiring through apply', () => {
  let empty: string;
  let deployed: string;
  let removed: string;

  it('retires the deployment of a removed spec: the data plane no longer has the model', async () => {
    empty = await repo.commit('models, no specs yet');
    await repo.write('specs/iris.yaml', irisSpec('v1'));
    deployed = await repo.commit('iris v1');
    const first = await apply(empty, deployed);
    expect(first.out.at(-1)).toMatch(new RegExp(`^apply: ${MODEL}@staging: serving: `));
    expect(await modelsOnDataPlane()).toContain(MODEL);
    expect(await inferStatus()).toBe(200);

    await repo.git.rm('specs/iris.yaml');
    removed = await repo.commit('retire iris');
    const retired = await apply(deployed, removed);
    expect(retired.err).toEqual([]);
    expect(retired.decisions.map(({ decision }) => decision)).toEqual([{ action: 'retire' }]);
    expect(retired.started).toEqual([WORKFLOW_ID]);
    expect(retired.out).toContain(
      `apply: ${MODEL}@staging: retiring: started ${WORKFLOW_ID} (specs/iris.yaml removed at ${removed.slice(0, 12)})`,
    );
    expect(retired.out.at(-1)).toMatch(
      new RegExp(`^apply: ${MODEL}@staging: retired: ${MODEL}@staging retired`),
    );
    expect(retired.exitCode).toBe(0);

    expect(await modelsOnDataPlane()).not.toContain(MODEL);
    await expect(admin().state({ model: MODEL })).rejects.toMatchObject({ status: 404 });
    expect(await inferStatus()).toBe(404);

    const run = await latestRun();
    expect(run).toMatchObject({ type: 'RetireModel', stage: 'retired' });
    const decisions = (await audit.list({ workflowId: WORKFLOW_ID }))
      .filter((record) => record.runId === run.runId && record.kind === 'workflow.decision')
      .map((record) => record.step);
    expect(decisions).toEqual(['retire.started', 'deployment.retired']);
    const retiredRecord = (await audit.list({ workflowId: WORKFLOW_ID })).find(
      (record) => record.step === 'deployment.retired',
    );
    expect(retiredRecord).toMatchObject({ model: MODEL, environment: 'staging', commit: removed });
  });

  it('says already retired when the removal is applied again', async () => {
    const before = (await latestRun()).runId;
    const again = await apply(deployed, removed);
    expect(again.started).toEqual([]);
    expect(again.decisions.map(({ decision }) => decision)).toEqual([
      { action: 'none', why: 'already-retired' },
    ]);
    expect(again.out).toContain(`apply: ${MODEL}@staging: already retired (run ${before})`);
    expect(again.exitCode).toBe(0);
    expect((await latestRun()).runId).toBe(before);

    // `modelship status` lists both workflow types with this query; the latest run is the retirement.
    const types: string[] = [];
    const query = `WorkflowType IN ('DeployModel', 'RetireModel') AND WorkflowId = '${WORKFLOW_ID}'`;
    for await (const listed of client.workflow.list({ query })) types.push(listed.type);
    expect(types).toEqual(['RetireModel', 'DeployModel']);
  });

  it('cancels a rollout in progress (it rolls back) before retiring', async () => {
    // The spec comes back: a retired deployment is deployed afresh.
    await repo.write('specs/iris.yaml', irisSpec('v1'));
    const back = await repo.commit('iris v1 again');
    const redeployed = await apply(removed, back);
    expect(redeployed.out.at(-1)).toMatch(new RegExp(`^apply: ${MODEL}@staging: serving: `));

    await repo.write(
      'specs/iris.yaml',
      irisSpec('v2', ['setWeight: 10', 'pause: { duration: 10m }', 'setWeight: 100']),
    );
    const held = await repo.commit('iris v2, held at 10 %');
    await apply(back, held, false);
    await waitForStage('paused');
    const heldRun = (await latestRun()).runId;

    await repo.git.rm('specs/iris.yaml');
    const gone = await repo.commit('retire iris during its rollout');
    const retired = await apply(held, gone);
    expect(retired.decisions.map(({ decision }) => decision)).toEqual([
      { action: 'retire', supersedes: heldRun },
    ]);
    expect(retired.out).toContain(
      `apply: ${MODEL}@staging: cancelling the run in progress (run ${heldRun}); it rolls back first (it was at paused): stable gets all traffic again, the candidate is unloaded`,
    );
    expect(retired.out.join('\n')).toMatch(/previous rollout closed: rolled-back: the rollout was cancelled/);
    expect(retired.out.at(-1)).toMatch(new RegExp(`^apply: ${MODEL}@staging: retired: `));
    expect(retired.exitCode).toBe(0);
    expect(await modelsOnDataPlane()).not.toContain(MODEL);
    expect(await inferStatus()).toBe(404);
  });
});
