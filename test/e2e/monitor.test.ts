/**
 * Watching a model after promotion, end to end with real parts: a real Temporal dev server and
 * worker, iris deployed from a real Git repository through packaging (which profiles the holdout),
 * the real data plane counting live inputs over HTTP, and a real webhook receiver. Unshifted
 * traffic raises nothing; traffic whose petal length is shifted is caught and reported naming
 * that feature, with one alert and one retraining request however many looks follow, and the
 * finding is in the audit log.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { monitorWorkflowId } from '../../domain/deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { runLoad } from '../../serving/loadgen/index.ts';
import { monitorStatusQuery } from '../../workflows/messages.ts';
import type { MonitorStatus } from '../../workflows/monitor-status.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
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

/** Commits iris v2 with `monitoring` (YAML under `spec:`) to a repository of its own and deploys it. */
async function deployIris(model: string, monitoring: string) {
  const repo = await createTempRepo();
  repos.push(repo);
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  const specPath = `specs/${model}.yaml`;
  await repo.write(
    specPath,
    exampleSpecYaml({ name: model, dataset: 'iris', version: 'v2', analysis: monitoring }),
  );
  const commit = await repo.commit(`deploy ${model}`);
  const handle = await startDeployment(
    stack.client,
    stack.taskQueue,
    await loadDeploymentInput(join(repo.root, specPath)),
  );
  return { commit, result: await handle.result() };
}

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

    // The finding is in the audit log, with its evidence.
    const records = await stack.audit.list({
      workflowId: monitorWorkflowId({ model, environment: 'staging' }),
    });
    const findings = records.filter((r) => r.step === 'monitor.finding');
    expect(findings.map((r) => (r.details as { feature?: string }).feature)).toContain('petal_length_cm');
    expect(records.filter((r) => r.step === 'monitor.action')).toHaveLength(received.length);
  });
});

describe('live accuracy from labels fed back', () => {
  it('holds a promoted model to its accuracy floor with labels sent back later against the prediction ids', async () => {
    const model = 'iris-labels';
    const { result } = await deployIris(
      model,
      `  monitoring:
    interval: 500ms
    checks:
      # Three fixed rows are not shaped like the holdout: this test is about the labels alone.
      inputDrift: false
      predictionDrift: false
      performance: { accuracy: { min: 0.9 } }
`,
    );
    expect(result.outcome).toBe('serving');

    // Predictions now; every prediction id kept, as a caller's ground-truth pipeline would.
    const predictions: { id: string; predicted: number }[] = [];
    const rows = [
      [5.1, 3.5, 1.4, 0.2],
      [6.4, 3.2, 4.5, 1.5],
      [6.3, 3.3, 6.0, 2.5],
    ];
    for (let i = 0; i < 300; i += 1) {
      const row = rows[i % rows.length] as number[];
      const response = await fetch(`${stack.dataPlane.url}/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }] }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { outputs: { name: string; data: number[] }[] };
      const id = response.headers.get('x-modelship-prediction-id');
      expect(id).toBeTruthy();
      predictions.push({
        id: id as string,
        predicted: body.outputs.find((output) => output.name === 'label')?.data[0] ?? -1,
      });
    }
    const monitor = async () => monitorStatus(model);
    await until('a look with no labels yet', async () => {
      const status = await monitor();
      return status?.summary && status.summary.looks >= 2 ? status : undefined;
    });
    expect((await monitor())?.findings).toEqual([]);

    // The labels come back later, in batches: most say the model was wrong.
    const labels = predictions.map(({ id, predicted }, i) => ({
      prediction_id: id,
      label: i % 10 === 0 ? predicted : (predicted + 1) % 3,
    }));
    for (let start = 0; start < labels.length; start += 100) {
      const response = await fetch(`${stack.dataPlane.url}/v2/models/${model}/feedback`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${stack.dataPlane.feedbackToken}`,
        },
        body: JSON.stringify({ labels: labels.slice(start, start + 100) }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ accepted: 100 });
    }
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
  });
});
