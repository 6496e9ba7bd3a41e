/** `/metrics` (Prometheus text) and `/admin/v1/metrics` (JSON): the same cumulative counters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

/** A parsed sample line: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text exposition format: every line is a comment (`# HELP`/`# TYPE`) or a
 * sample `name{label="value",...} number`; anything else fails the test.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1] ?? '', type[2] ?? '');
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (\S+)$/.exec(
        line,
      );
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[key ?? ''] = value ?? '';
    }
    const value = Number(sample[3]);
    expect(Number.isNaN(value), line).toBe(false);
    samples.push({ name: sample[1] ?? '', labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([key, v]) => s.labels[key] === v),
  )?.value;
}

describe('metrics', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;
  let holdout: Awaited<ReturnType<typeof irisHoldout>>;

  beforeAll(async () => {
    dir = await scratchDir();
    holdout = await irisHoldout();
    t = await startTestServer();
    for (const version of ['v1', 'v2']) {
      await t.admin.loadVersion({
        model: 'iris',
        version,
        bundlePath: await makeBundle({ root: dir.path, version }),
      });
    }
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('writes parseable Prometheus text with every family typed, even before traffic', async () => {
    const reply = await call(`${t.url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples, types } = parsePrometheus(reply.text);
    expect(Object.fromEntries(types)).toEqual({
      modelship_requests_total: 'counter',
      modelship_errors_total: 'counter',
      modelship_refused_total: 'counter',
      modelship_pinned_requests_total: 'counter',
      modelship_pinned_errors_total: 'counter',
      modelship_request_duration_seconds: 'histogram',
      modelship_predictions_total: 'counter',
      modelship_shadow_comparisons_total: 'counter',
      modelship_shadow_dropped_total: 'counter',
      modelship_shadow_errors_total: 'counter',
      // The live statistics (monitoring is on by default; test/serving/live-statistics.test.ts).
      modelship_monitored_rows_total: 'counter',
      modelship_feature_rows_total: 'counter',
      modelship_feature_missing_total: 'counter',
      modelship_input_violations_total: 'counter',
      modelship_quality_rejected_requests_total: 'counter',
      // Labels fed back and the estimate without labels (test/serving/feedback.test.ts).
      modelship_labels_total: 'counter',
      modelship_labels_correct_total: 'counter',
      modelship_estimated_accuracy: 'gauge',
    });
    expect(value(samples, 'modelship_requests_total', { model: 'iris', version: 'v1' })).toBe(0);
    expect(value(samples, 'modelship_errors_total', { version: 'v2', kind: 'non_finite' })).toBe(0);
  });

  it('counts requests, errors, latency and predicted classes per version, cumulatively', async () => {
    // 45 holdout rows to v1 in one batch, 3 single rows pinned to v2, one bad request to v1.
    expect((await infer(t.url, 'iris', irisRequest(holdout.rows))).status).toBe(200);
    for (let i = 0; i < 3; i += 1) {
      await infer(t.url, 'iris', irisRequest([holdout.rows[i] ?? []]), { 'x-modelship-version': 'v2' });
    }
    expect((await infer(t.url, 'iris', '{oops')).status).toBe(400);

    const first = parsePrometheus((await call(`${t.url}/metrics`)).text).samples;
    const v1 = { model: 'iris', version: 'v1' };
    const v2 = { model: 'iris', version: 'v2' };
    // The judge's series hold routed traffic that reached the model: the bad request is refused
    // apart, the pinned requests are counted apart.
    expect(value(first, 'modelship_requests_total', v1)).toBe(1);
    expect(value(first, 'modelship_errors_total', { ...v1, kind: 'bad_request' })).toBeUndefined();
    expect(value(first, 'modelship_errors_total', { ...v1, kind: 'inference' })).toBe(0);
    expect(value(first, 'modelship_refused_total', { ...v1, reason: 'bad_request', traffic: 'routed' })).toBe(
      1,
    );
    expect(value(first, 'modelship_requests_total', v2)).toBe(0);
    expect(value(first, 'modelship_pinned_requests_total', v2)).toBe(3);
    expect(value(first, 'modelship_pinned_errors_total', { ...v2, kind: 'inference' })).toBe(0);
    // The bad request never reached the model, pinned requests are not timed: one observation for v1.
    expect(value(first, 'modelship_request_duration_seconds_count', v1)).toBe(1);
    expect(value(first, 'modelship_request_duration_seconds_bucket', { ...v1, le: '+Inf' })).toBe(1);
    expect(value(first, 'modelship_request_duration_seconds_count', v2)).toBe(0);
    const buckets = first.filter(
      (s) => s.name === 'modelship_request_duration_seconds_bucket' && s.labels.version === 'v1',
    );
    expect(buckets.map((s) => s.labels.le)).toEqual([
      '0.00001',
      '0.000025',
      '0.00005',
      '0.0001',
      '0.00025',
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    expect(buckets.map((s) => s.value)).toEqual([...buckets.map((s) => s.value)].sort((a, b) => a - b));
    // Every row of the batch is counted by its predicted class: 45 rows in all.
    const predicted = first.filter(
      (s) => s.name === 'modelship_predictions_total' && s.labels.version === 'v1',
    );
    expect(predicted.reduce((sum, s) => sum + s.value, 0)).toBe(45);
    expect(predicted.map((s) => s.labels.class).sort()).toEqual(['0', '1', '2']);

    // The JSON snapshot says the same.
    const json = (await t.admin.metrics()).models.iris?.v1;
    expect(json?.requests).toBe(1);
    expect(json?.errors).toEqual({ inference: 0, non_finite: 0 });
    expect(json?.refused).toEqual({
      bad_request: 1,
      too_large: 0,
      timeout: 0,
      client_closed: 0,
      response_too_large: 0,
    });
    expect((await t.admin.metrics()).models.iris?.v2?.pinned).toMatchObject({
      requests: 3,
      errors: { inference: 0, non_finite: 0 },
    });
    expect(Object.values(json?.predictions ?? {}).reduce((a, b) => a + b, 0)).toBe(45);
    expect(json?.latency.count).toBe(1);
    expect(json?.latency.buckets.at(-1)).toEqual({ le: 10, count: 1 });
    expect(json?.latency.sum).toBeGreaterThan(0);

    // Counters only grow: a reader takes differences between two scrapes.
    await infer(t.url, 'iris', irisRequest([holdout.rows[0] ?? []]));
    const second = parsePrometheus((await call(`${t.url}/metrics`)).text).samples;
    expect(value(second, 'modelship_requests_total', v1)).toBe(2);
    for (const sample of first) {
      const later = value(second, sample.name, sample.labels);
      expect(later, `${sample.name} ${JSON.stringify(sample.labels)}`).toBeGreaterThanOrEqual(sample.value);
    }
  });

  it('keeps counting a version across unload and reload', async () => {
    const before = (await t.admin.metrics()).models.iris?.v2?.pinned.requests ?? 0;
    await t.admin.unloadVersion({ model: 'iris', version: 'v2' });
    const snapshot = await t.admin.metrics();
    expect(snapshot.models.iris?.v2?.pinned.requests).toBe(before);
    expect(Date.parse(snapshot.takenAt)).toBeGreaterThan(0);
    await t.admin.loadVersion({ model: 'iris', version: 'v2', bundlePath: `${dir.path}/iris-v2` });
    await infer(t.url, 'iris', irisRequest([holdout.rows[0] ?? []]), { 'x-modelship-version': 'v2' });
    expect((await t.admin.metrics()).models.iris?.v2?.pinned.requests).toBe(before + 1);
  });
});

describe('metrics switched off', () => {
  it('serves inference but no metrics endpoints', async () => {
    const dir = await scratchDir();
    const t = await startTestServer({ metrics: false });
    try {
      await t.admin.loadVersion({
        model: 'iris',
        version: 'v1',
        bundlePath: await makeBundle({ root: dir.path, version: 'v1' }),
      });
      expect((await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status).toBe(200);
      expect((await call(`${t.url}/metrics`)).status).toBe(404);
      await expect(t.admin.metrics()).rejects.toMatchObject({
        status: 404,
        serverMessage: 'metrics are disabled on this server',
      });
    } finally {
      await t.close();
      await dir.remove();
    }
  });
});
