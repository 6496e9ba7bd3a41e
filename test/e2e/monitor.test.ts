/**
 * Watching a model after promotion, end to end with real parts: a real Temporal dev server and
 * worker, iris deployed from a real Git repository through packaging (which profiles the holdout),
 * the real data plane counting live inputs over HTTP, and a real webhook receiver. Unshifted
 * traffic raises nothing; traffic whose petal length is shifted is caught and reported naming
 * that feature, with one alert and one retraining request however many looks follow, and the
 * finding is in the audit log. Labels fed back against prediction ids hold the model to its
 * accuracy floor; with `actions.rollback`, falling below it restores the version before.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { monitorWorkflowId } from '../../domain/deployment.ts';
import { reconcileEnvironment } from '../../gitops/reconcile.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { createAdminClient } from '../../serving/admin-client.ts';
import { runLoad } from '../../serving/loadgen/index.ts';
import { monitorStatusQuery } from '../../workflows/messages.ts';
import type { MonitorModel } from '../../workflows/monitor-model.ts';
import type { MonitorStatus } from '../../workflows/monitor-status.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { feedMostlyWrongLabels, predictIris } from '../support/iris-feedback.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let stack: TestStack;
let receiver: Server;
let hooks: string;
const received: { path: string; key: string; body: Record<string, unknown> }[] = [];
const repos: TempRepo[] = [];

beforeAll(async () => {
  stack = await startTestStack('monitor');
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        key: String(req.headers['idempotency-key']),
        body: JSON.parse(text),
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hooks = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await Promise.all(repos.map((repo) => repo.remove()));
});

const HOLDOUT = join(REPO_ROOT, 'models', 'iris', 'holdout.csv');

async function monitorStatus(model: string): Promise<MonitorStatus | undefined> {
  const handle = stack.client.workflow.getHandle(monitorWorkflowId({ model, environment: 'staging' }));
  return handle.query(monitorStatusQuery).catch(() => undefined);
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Commits iris (v2 unless told) with `monitoring` (YAML under `spec:`) to a repository and deploys
 * it; a later call with the same `repo` deploys a new version of the same model there.
 */
async function deployIris(
  model: string,
  monitoring: string,
  options: { repo?: TempRepo; version?: 'v1' | 'v2'; steps?: string[]; postPromotionWindow?: string } = {},
) {
  const repo = options.repo ?? (await createTempRepo());
  if (!options.repo) repos.push(repo);
  const version = options.version ?? 'v2';
  await repo.copyFromProject(`models/iris/${version}/model.onnx`);
  await repo.copyFromProject('models/iris/holdout.csv');
  const specPath = `specs/${model}.yaml`;
  await repo.write(
    specPath,
    exampleSpecYaml({
      name: model,
      dataset: 'iris',
      version,
      analysis: monitoring,
      ...(options.steps ? { steps: options.steps } : {}),
      ...(options.postPromotionWindow ? { postPromotionWindow: options.postPromotionWindow } : {}),
    }),
  );
  const commit = await repo.commit(`deploy ${model} ${version}`);
  const handle = await startDeployment(
    stack.client,
    stack.taskQueue,
    await loadDeploymentInput(join(repo.root, specPath)),
  );
  return { repo, commit, result: await handle.result() };
}

const LABELS_ONLY = `  monitoring:
    interval: 500ms
    checks:
      # Three fixed rows are not shaped like the holdout: these tests are about the labels alone.
      inputDrift: false
      predictionDrift: false
      performance: { accuracy: { min: 0.9 } }
`;

describe('the monitor of a promoted model', () => {
  it('stays quiet on unshifted traffic, then catches a shifted feature and sends one alert and one retraining request', async () => {
    const model = 'iris-watch';
    const { commit, result } = await deployIris(
      model,
      `  monitoring:
    interval: 500ms
    actions:
      alert: { url: "${hooks}/alert" }
      retraining: { url: "${hooks}/retrain", format: webhook }
`,
    );
    expect(result.outcome).toBe('serving');
    expect(result.commit).toBe(commit);

    // Unshifted holdout rows, cycled: at least 20 looks and no finding.
    const quiet = await runLoad({
      url: stack.dataPlane.url,
      model,
      holdout: HOLDOUT,
      mode: { kind: 'rate', ratePerS: 300 },
      durationMs: 12_000,
    });
    expect(quiet.errors).toBe(0);
    const calm = await until('20 looks', async () => {
      const status = await monitorStatus(model);
      return status?.summary && status.summary.looks >= 20 ? status : undefined;
    });
    expect(calm.findings).toEqual([]);
    expect(calm.summary?.rows).toBeGreaterThan(3000);
    expect(received).toEqual([]);

    // The same rows with petal length 2 standard deviations longer.
    const abort = new AbortController();
    const drifting = runLoad(
      {
        url: stack.dataPlane.url,
        model,
        holdout: HOLDOUT,
        mode: { kind: 'rate', ratePerS: 300 },
        durationMs: 60_000,
        shift: { feature: 'petal_length_cm', by: 2, unit: 'sd' },
      },
      { signal: abort.signal },
    );
    const found = await until('a drift finding', async () => {
      const status = await monitorStatus(model);
      return status?.findings.some((f) => f.check === 'input-drift') ? status : undefined;
    });
    const looksAtFinding = found.summary?.looks ?? 0;
    // More looks of the same drift change nothing that was sent.
    await until('5 more looks', async () => {
      const status = await monitorStatus(model);
      return (status?.summary?.looks ?? 0) >= looksAtFinding + 5 ? status : undefined;
    });
    abort.abort();
    await drifting;

    const status = (await monitorStatus(model)) as MonitorStatus;
    const inputDrift = status.findings.filter((f) => f.check === 'input-drift');
    expect(inputDrift.map((f) => f.feature)).toEqual(['petal_length_cm']);
    expect(inputDrift[0]?.summary).toContain('input "petal_length_cm" drifted');

    const alerts = received.filter((r) => r.path === '/alert');
    const retraining = received.filter((r) => r.path === '/retrain');
    // One alert per look that found something new (the input drift, and possibly the predicted
    // classes a look or two later), and never the same key twice.
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(new Set(received.map((r) => r.key)).size).toBe(received.length);
    expect(alerts[0]?.body).toMatchObject({
      type: 'modelship.monitor.finding/v1',
      model,
      environment: 'staging',
    });
    expect(JSON.stringify(alerts.map((a) => a.body.findings))).toContain('petal_length_cm');
    // One retraining request for the version, whatever else the monitor finds afterwards.
    expect(retraining).toHaveLength(1);
    expect(retraining[0]?.body).toMatchObject({ type: 'modelship.retraining.request/v1', model });
    const window = retraining[0]?.body.window as { rows: number } | undefined;
    expect(window?.rows).toBeGreaterThan(3000);

    // The finding is in the audit log, with its evidence, and every action sent has its record.
    // An action is recorded by the activity after the one that sent it, so the receiver can hold a
    // request whose record is still being written: wait for the two to agree (a minute at most),
    // never read them in the same instant.
    let counted = '';
    const records = await until('a record of every action sent', async () => {
      const all = await stack.audit.list({
        workflowId: monitorWorkflowId({ model, environment: 'staging' }),
      });
      const actions = all.filter((r) => r.step === 'monitor.action');
      counted = `${actions.length} monitor.action records for ${received.length} requests received`;
      return actions.length === received.length ? all : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}: ${counted}`);
    });
    const findings = records.filter((r) => r.step === 'monitor.finding');
    expect(findings.map((r) => (r.details as { feature?: string }).feature)).toContain('petal_length_cm');
  });
});

describe('live accuracy from labels fed back', () => {
  it('holds a promoted model to its accuracy floor with labels sent back later against the prediction ids', async () => {
    const model = 'iris-labels';
    const { result } = await deployIris(model, LABELS_ONLY);
    expect(result.outcome).toBe('serving');

    // Predictions now; every prediction id kept, as a caller's ground-truth pipeline would.
    const predictions = await predictIris(stack.dataPlane.url, model, 300);
    const monitor = async () => monitorStatus(model);
    await until('a look with no labels yet', async () => {
      const status = await monitor();
      return status?.summary && status.summary.looks >= 2 ? status : undefined;
    });
    expect((await monitor())?.findings).toEqual([]);

    // The labels come back later, in batches: most say the model was wrong.
    await feedMostlyWrongLabels(stack.dataPlane, model, predictions);
    const below = await until('the accuracy finding', async () => {
      const status = await monitor();
      return status?.findings.find((finding) => finding.key === 'performance:accuracy');
    });
    expect(below.check).toBe('performance');
    expect(below.threshold).toBe(0.9);
    expect(below.value).toBeLessThan(0.5);
    expect(below.summary).toContain('below the floor of 90 %');
    const status = (await monitor()) as MonitorStatus;
    expect(status.summary?.performance).toMatchObject({ labelled: 300, floor: 0.9, belowFloor: true });
    expect(status.summary?.performance?.accuracy).toBeCloseTo(0.1, 2);
    // No rollback was asked for: the version keeps serving.
    expect(status.state).toBe('watching');
  });

  it('rolls back to the version before when live accuracy falls below the floor, and reconcile agrees', async () => {
    const model = 'iris-rollback';
    const first = await deployIris(model, '', { version: 'v1' });
    expect(first.result.outcome).toBe('serving');
    const v1 = first.result.dataPlane?.version as string;
    // v2 promoted in one step; v1 leaves memory a second later, so the rollback must load it again.
    const second = await deployIris(
      model,
      `${LABELS_ONLY}    actions: { rollback: true }
`,
      {
        repo: first.repo,
        steps: ['setWeight: 100'],
        postPromotionWindow: '1s',
      },
    );
    expect(second.result.outcome).toBe('promoted');
    const v2 = second.result.dataPlane?.version as string;
    const admin = createAdminClient({ baseUrl: stack.dataPlane.url, token: stack.dataPlane.adminToken });
    await until('v1 unloaded', async () => {
      const state = await admin.state({ model });
      return state.loaded.some((entry) => entry.version === v1) ? undefined : state;
    });

    await feedMostlyWrongLabels(stack.dataPlane, model, await predictIris(stack.dataPlane.url, model, 300));
    const monitor = stack.client.workflow.getHandle<typeof MonitorModel>(
      monitorWorkflowId({ model, environment: 'staging' }),
    );
    const ended = await monitor.result();
    expect(ended.outcome).toBe('rolled-back');
    expect(ended.dataPlane).toEqual({ version: v2, stable: v1 });
    expect(ended.summary).toContain(`rolled back to ${v1}`);

    // The data plane serves v1 again, from its bundle, and v2 is gone.
    const state = await admin.state({ model });
    expect(state.stable?.version).toBe(v1);
    expect(state.loaded.map((entry) => entry.version)).toEqual([v1]);
    const after = await predictIris(stack.dataPlane.url, model, 1);
    expect(after).toHaveLength(1);

    // Recorded, with the finding that set it off.
    const records = await stack.audit.list({
      workflowId: monitorWorkflowId({ model, environment: 'staging' }),
    });
    const rolledBack = records.find((r) => r.step === 'monitor.rolled-back');
    expect(rolledBack?.details).toMatchObject({ version: v2, restored: v1 });
    expect(JSON.stringify(rolledBack?.details)).toContain('performance:accuracy');

    // Reconcile takes the monitor's rollback as the latest word: v1 is expected, and served.
    const report = await reconcileEnvironment({
      environment: 'staging',
      client: stack.client,
      taskQueue: stack.taskQueue,
      dataPlane: { admin, url: stack.dataPlane.url },
    });
    expect(report.serving[model]).toEqual({ expected: v1, served: true });
    expect(report.findings.filter((finding) => finding.model === model)).toEqual([]);
  });
});
