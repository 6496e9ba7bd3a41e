/**
 * The monitor's actions over real HTTP: an alert and a retraining request in each body format,
 * the idempotency key and the token on every attempt, retryable answers apart from refusals, and a
 * token variable the spec cannot redirect to another secret of the worker.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitoringActivities, type MonitorActionInput } from '../../activities/monitoring.ts';
import type { Finding } from '../../analysis/monitor-look.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

let server: Server;
let base: string;
const received: Received[] = [];
/** Status to answer per path; 200 when not listed. */
const answers = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
      res.writeHead(answers.get(req.url ?? '') ?? 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const finding: Finding = {
  key: 'input-drift:petal_length',
  check: 'input-drift',
  feature: 'petal_length',
  statistic: 'e-value of the live binned distribution against the reference profile',
  value: 812.5,
  threshold: 500,
  summary: 'input "petal_length" drifted: 900 live rows, most of the change in [4.9, 5.6)',
  evidence: { rows: 900 },
};

function action(path: string, overrides: Partial<MonitorActionInput> = {}): MonitorActionInput {
  return {
    deployment: {
      model: 'iris',
      environment: 'production',
      commit: 'a'.repeat(40),
      specPath: 'specs/iris.yaml',
      repository: 'https://github.com/acme/models.git',
      author: { name: 'Alice', email: 'alice@example.com' },
    },
    kind: 'alert',
    url: `${base}${path}`,
    idempotencyKey: `run-1/${finding.key}/alert`,
    version: '1a2b3c4d5e6f',
    bundleDigest: 'b'.repeat(64),
    findings: [finding],
    summary: {
      looks: 12,
      windowStart: '2026-12-05T10:00:00.000Z',
      rows: 900,
      features: [],
      predictions: null,
      quality: null,
      performance: null,
      findings: [finding.key],
    },
    monitor: { workflowId: 'monitor/production/iris', runId: 'run-2' },
    time: '2026-12-05T11:00:00.000Z',
    ...overrides,
  };
}

const activities = createMonitoringActivities({
  sources: { statistics: async () => [], profile: async () => undefined },
  env: { MODELSHIP_WEBHOOK_GITHUB: 'ghp_test_token', AWS_SECRET_ACCESS_KEY: 'do-not-send' },
  timeoutMs: 5_000,
});

const last = () => received.at(-1) as Received;

describe('monitor actions over HTTP', () => {
  it('posts an alert with the finding, the deployment and an idempotency key', async () => {
    await expect(activities.sendMonitorAction(action('/alert'))).resolves.toEqual({ status: 200 });
    const request = last();
    expect(request.headers['idempotency-key']).toBe('run-1/input-drift:petal_length/alert');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toMatchObject({
      type: 'modelship.monitor.finding/v1',
      model: 'iris',
      environment: 'production',
      version: '1a2b3c4d5e6f',
      findings: [{ key: 'input-drift:petal_length', feature: 'petal_length', value: 812.5, threshold: 500 }],
      monitor: { workflowId: 'monitor/production/iris' },
    });
  });

  it('sends a retraining request as a repository_dispatch with the report and the window of data', async () => {
    await activities.sendMonitorAction(
      action('/repos/acme/models/dispatches', {
        kind: 'retraining',
        format: 'repository_dispatch',
        eventType: 'retrain-iris',
        tokenEnv: 'MODELSHIP_WEBHOOK_GITHUB',
        idempotencyKey: 'run-1/input-drift:petal_length/retraining',
      }),
    );
    const request = last();
    expect(request.headers.authorization).toBe('Bearer ghp_test_token');
    expect(request.headers.accept).toBe('application/vnd.github+json');
    expect(request.body.event_type).toBe('retrain-iris');
    const payload = request.body.client_payload as Record<string, unknown>;
    // GitHub refuses a client_payload with more than 10 top-level keys.
    expect(Object.keys(payload).length).toBeLessThanOrEqual(10);
    expect(payload).toMatchObject({
      type: 'modelship.retraining.request/v1',
      model: 'iris',
      window: { from: '2026-12-05T10:00:00.000Z', to: '2026-12-05T11:00:00.000Z', rows: 900 },
      findings: [{ feature: 'petal_length' }],
    });
    expect(String(payload.reason)).toContain('petal_length');
  });

  it('opens a retraining issue with a Markdown drift report', async () => {
    await activities.sendMonitorAction(
      action('/repos/acme/models/issues', { kind: 'retraining', format: 'issue' }),
    );
    const body = last().body;
    expect(body.title).toBe('Retrain iris@production: petal_length');
    expect(body.body).toContain('input "petal_length" drifted');
    expect(body.labels).toEqual(['modelship', 'retraining']);
  });

  it('retries a receiver that is down or busy, and gives up at once on a refusal', async () => {
    answers.set('/busy', 503);
    answers.set('/slow-down', 429);
    answers.set('/forbidden', 403);
    await expect(activities.sendMonitorAction(action('/busy'))).rejects.toThrow(/answered 503; retrying/);
    await expect(activities.sendMonitorAction(action('/slow-down'))).rejects.toThrow(
      /answered 429; retrying/,
    );
    const refusal = await activities.sendMonitorAction(action('/forbidden')).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect((refusal as ApplicationFailure).type).toBe('WebhookRefused');
    expect((refusal as ApplicationFailure).nonRetryable).toBe(true);
    expect((refusal as ApplicationFailure).message).toContain('HTTP 403');
  });

  it('never reads a token variable outside MODELSHIP_WEBHOOK_*, nor sends without the one named', async () => {
    const before = received.length;
    const hostile = await activities
      .sendMonitorAction(action('/alert', { tokenEnv: 'AWS_SECRET_ACCESS_KEY' }))
      .catch((error: unknown) => error);
    expect((hostile as ApplicationFailure).type).toBe('WebhookRefused');
    const unset = await activities
      .sendMonitorAction(action('/alert', { tokenEnv: 'MODELSHIP_WEBHOOK_MISSING' }))
      .catch((error: unknown) => error);
    expect((unset as ApplicationFailure).message).toContain('has no MODELSHIP_WEBHOOK_MISSING set');
    expect(received.length).toBe(before);
  });

  it('reads the version it watches, and says when the data plane no longer serves it', async () => {
    const reading = await activities.readMonitorInputs({
      deployment: action('/').deployment,
      version: 'gone',
      withProfile: true,
    });
    expect(reading).toEqual({ served: false });
  });
});
