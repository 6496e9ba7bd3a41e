/**
 * The staged rollout on a real dev server, a real data plane and real traffic (the load
 * generator): a good candidate is promoted after an approval, a bad one is rolled back by live
 * analysis on its own, a stranger's approval is refused, and cancelling rolls back.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type Client, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AuditStore } from '../../audit/store.ts';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { createAdminClient } from '../../serving/admin-client.ts';
import { runLoad } from '../../serving/loadgen/index.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { approveSignal, approveUpdate, statusQuery } from '../../workflows/messages.ts';
import { RolloutStageKey } from '../../workflows/search-attributes.ts';
import type { TestDataPlane } from '../support/data-plane.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let taskQueue: string;
let stack: TestStack;
let audit: AuditStore;
let dataPlane: TestDataPlane;
let client: Client;
const repos: TempRepo[] = [];

beforeAll(async () => {
  stack = await startTestStack('rollout');
  ({ taskQueue, audit, dataPlane, client } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(repos.map((repo) => repo.remove()));
});

/** A repo where `model` already serves iris v1, and a commit that proposes `candidate`. */
async function candidateCommit(model: string, candidate: string, steps: string[], analysis = '') {
  const repo = await createTempRepo();
  repos.push(repo);
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject(`models/iris/${candidate}/model.onnx`);
  await repo.copyFromProject('models/iris/holdout.csv');
  const specFile = join(repo.root, `specs/${model}.yaml`);
  const spec = (version: string) =>
    exampleSpecYaml({
      name: model,
      dataset: 'iris',
      version,
      minAccuracy: 0.8,
      steps,
      postPromotionWindow: '1s',
      analysis,
    });
  await repo.write(`specs/${model}.yaml`, spec('v1'));
  await repo.commit('v1');
  const first = await startDeployment(client, taskQueue, await loadDeploymentInput(specFile));
  expect((await first.result()).outcome).toBe('serving');
  await repo.write(`specs/${model}.yaml`, spec(candidate));
  await repo.commit(candidate);
  return startDeployment(client, taskQueue, await loadDeploymentInput(specFile));
}

/**
 * What the judge is given: 200 req/s, so a 50 % canary sees several hundred requests in a few
 * seconds. Each request costs this process about a millisecond of CPU on both sides (the load
 * generator and the data plane share it), so the rate is no higher than the evidence needs.
 */
const TRAFFIC_PER_S = 200;

/**
 * Steady traffic on a model until the returned stop function is called, from the moment the model
 * first serves: before v1 is loaded every request would only be answered 404.
 */
function traffic(model: string) {
  const controller = new AbortController();
  const done = (async () => {
    while (!controller.signal.aborted && !(await serves(model))) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    if (controller.signal.aborted) return undefined;
    return runLoad(
      {
        url: dataPlane.url,
        model,
        holdout: repoPath('models/iris/holdout.csv'),
        mode: { kind: 'rate', ratePerS: TRAFFIC_PER_S },
        durationMs: 120_000,
        preflight: false,
      },
      { signal: controller.signal },
    );
  })();
  return async () => {
    controller.abort();
    return done;
  };
}

async function serves(model: string): Promise<boolean> {
  const response = await fetch(`${dataPlane.url}/v2/models/${model}/ready`).catch(() => undefined);
  await response?.body?.cancel();
  return response?.status === 200;
}

/** Runs the CLI against the shared dev server without blocking this process's worker. */
function modelship(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [repoPath('bin/modelship.mjs'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

async function waitForStage(handle: WorkflowHandle<typeof DeployModel>, stage: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await handle.query(statusQuery)).stage === stage) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  const status = await handle.query(statusQuery);
  throw new Error(
    `rollout did not reach ${stage}: at ${status.stage}; ${status.rollback?.reason ?? status.lastVerdict?.verdict.reason ?? ''}`,
  );
}

describe('staged rollout', () => {
  it('promotes a good candidate after live analysis and a listed approver', async () => {
    const stop = traffic('iris-promote');
    try {
      const handle = await candidateCommit(
        'iris-promote',
        'v2',
        [
          'setWeight: 50',
          'analysis: { duration: 8s, interval: 500ms }',
          'approval: { approvers: [alice], timeout: 1m }',
          'setWeight: 100',
        ],
        // The judge passes only on evidence. A clean candidate earns it on its own rates: errors
        // shown below minEffect × errorRate.max (5 % here), requests over 250ms below 1 %, which
        // takes several hundred canary requests (at 200 req/s and 50 %: a few seconds).
        '  analysis:\n    minRequests: 50\n    minEffect: 1\n    errorRate: { max: 0.05 }\n    latencyP99: { max: 250ms }\n    disagreement: { max: 0.2 }\n',
      );
      await waitForStage(handle, 'awaiting-approval');
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(RolloutStageKey)).toBe('awaiting-approval');
      expect((await handle.query(statusQuery)).waitingFor?.approvers).toEqual(['alice']);
      // `modelship status` shows the same: the stage, the split, and who must approve.
      const status = await modelship(['status']);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(
        /iris-promote@staging\s+running\s+awaiting-approval\s+\w{12}\s+\w{12} 50% \/ \w{12} 50%\s+waiting for approval by alice/,
      );
      expect(status.stdout).toMatch(/iris-promote@staging: step 2 pass: /);
      // The analysis step was sized before traffic moved; the estimate says what it rests on.
      expect(status.stdout).toMatch(/iris-promote@staging: step estimates\n {2}traffic: /);
      expect(status.stdout).toMatch(/ {2}step 2 \(analysis 8s at 50 %\): a healthy candidate passes in /);

      // Someone not listed is refused by the update, with the reason.
      const refused = await handle
        .executeUpdate(approveUpdate, { args: [{ approver: 'mallory', decision: 'approve' }] })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((refused as WorkflowUpdateFailedError).cause?.message)).toContain(
        'mallory is not an approver',
      );
      // The refusal is in the audit log as soon as it is answered, before any stage change.
      const afterRefusal = await audit.list({ workflowId: handle.workflowId });
      const refusedAt = afterRefusal.findIndex((r) => r.step === 'approval.refused');
      expect(afterRefusal[refusedAt]?.actor).toBe('mallory');
      expect(afterRefusal[refusedAt]?.details).toMatchObject({
        reason: 'mallory is not an approver of this step (approvers: alice)',
      });
      expect(afterRefusal.slice(refusedAt).filter((r) => r.step === 'stage.entered')).toEqual([]);
      // A signal cannot be answered; its refusal is audited at once all the same.
      await handle.signal(approveSignal, { approver: 'eve', decision: 'approve' });
      await vi.waitFor(
        async () => {
          const records = await audit.list({ workflowId: handle.workflowId });
          expect(records.find((r) => r.step === 'approval.refused' && r.actor === 'eve')).toBeDefined();
        },
        { timeout: 10_000, interval: 100 },
      );
      expect((await handle.query(statusQuery)).stage).toBe('awaiting-approval');
      // No input at all (the Web UI's empty dialog) is refused with a message, not a stack trace.
      for (const empty of [null, {}, '']) {
        const error = await handle
          .executeUpdate(approveUpdate, { args: [empty as never] })
          .catch((thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
        expect(String((error as WorkflowUpdateFailedError).cause?.message)).toMatch(
          /^(expected one JSON object such as|approver: must name who approves)/,
        );
      }

      // Approved the way the details say, with the CLI (the update's other callers: the fast tier).
      const approved = await modelship(['approve', 'iris-promote', '--env', 'staging', '--as', 'alice']);
      expect(approved.stdout).toContain('approve: deploy/staging/iris-promote step 3 approved by alice');
      // The Web UI's details say so at once.
      const { currentDetails } = await handle.query(workflowMetadataQuery);
      expect(currentDetails).toContain('approved by alice');
      expect(currentDetails).not.toContain('Waiting for approval');
      const result = await handle.result();
      expect(result.outcome).toBe('promoted');
      // The Web UI list tells outcomes apart by this search attribute (saved view `RolloutStage = "promoted"`).
      expect((await handle.describe()).typedSearchAttributes.get(RolloutStageKey)).toBe('promoted');

      const state = await createAdminClient({ baseUrl: dataPlane.url, token: dataPlane.adminToken }).state({
        model: 'iris-promote',
      });
      expect(state.stable?.version).toBe(result.dataPlane?.version);
      // After the post-promotion window the previous stable is released.
      expect(state.loaded.map((entry) => entry.version)).toEqual([result.dataPlane?.version]);
      const records = await audit.list({ workflowId: handle.workflowId });
      expect(records.some((r) => r.step === 'analysis.pass')).toBe(true);
      expect(records.some((r) => r.step === 'rollout.estimated')).toBe(true);
      expect(records.find((r) => r.step === 'approval.approved')?.actor).toBe('alice');
      const steps = records.map((r) => r.step);
      expect(steps.indexOf('deployment.promoted')).toBeGreaterThan(steps.indexOf('approval.approved'));
    } finally {
      await stop();
    }
  });

  it('rolls a candidate that disagrees with stable back on its own, with the numbers', async () => {
    const stop = traffic('iris-disagree');
    try {
      const handle = await candidateCommit(
        'iris-disagree',
        'bad-disagree',
        ['shadow: { duration: 4s, minAgreement: 0.95 }', 'setWeight: 100'],
        '  analysis:\n    minRequests: 50\n',
      );
      const result = await handle.result();
      expect(result.outcome).toBe('rolled-back');
      expect(result.rollback?.reason).toMatch(/step 1 \(shadow\) failed: .*agree/);
      const agreement = result.rollback?.verdict?.metrics.find((m) => m.name === 'agreement');
      expect(agreement?.candidate).toBeLessThan(0.95);
      expect((await handle.describe()).typedSearchAttributes.get(RolloutStageKey)).toBe('rolled-back');
      const status = await handle.query(statusQuery);
      expect(status.rollout?.shadowAgreement?.agreement).toBe(agreement?.candidate);
      expect((await handle.query(workflowMetadataQuery)).currentDetails).toMatch(
        /↩️ \*\*Rolled back\*\*[\s\S]*\*\*Shadow agreement\*\* \(step 1\): [\d.]+ % of mirrored requests/,
      );

      const state = await createAdminClient({ baseUrl: dataPlane.url, token: dataPlane.adminToken }).state({
        model: 'iris-disagree',
      });
      expect(state.stable?.version).toBe(result.dataPlane?.stable);
      expect(state.loaded.map((entry) => entry.version)).not.toContain(result.dataPlane?.version);
      const records = await audit.list({ workflowId: handle.workflowId });
      expect(records.find((r) => r.step === 'deployment.rolled-back')?.details).toMatchObject({
        reason: result.rollback?.reason,
      });
    } finally {
      await stop();
    }
  });

  it('fails a canary that predicts differently on live traffic and starts the rollback within a second', async () => {
    const stop = traffic('iris-canary-bad');
    try {
      const handle = await candidateCommit(
        'iris-canary-bad',
        'bad-disagree',
        ['setWeight: 50', 'analysis: { duration: 60s, interval: 500ms }', 'setWeight: 100'],
        '  analysis:\n    minRequests: 50\n    latencyP99: { max: 50ms }\n',
      );
      const result = await handle.result();
      expect(result.outcome).toBe('rolled-back');
      expect(result.rollback?.reason).toMatch(/step 2 \(analysis\) failed: /);
      expect(result.rollback?.verdict?.judge).toBe('sequential');
      const records = await audit.list({ workflowId: handle.workflowId });
      const run = records.filter((r) => r.runId === (records.at(-1)?.runId ?? ''));
      const decided = run.find((r) => r.step === 'analysis.fail');
      const rollingBack = run.find((r) => r.step === 'stage.entered' && r.details?.stage === 'rolling-back');
      expect(decided && rollingBack).toBeTruthy();
      expect(Date.parse(rollingBack?.time ?? '') - Date.parse(decided?.time ?? '')).toBeLessThan(1_000);
    } finally {
      await stop();
    }
  });
});
