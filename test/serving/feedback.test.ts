/**
 * Ground truth over real HTTP against the committed iris model: prediction ids on routed answers,
 * labels fed back (some right, some wrong) → exact counts, confusion matrix and rates; batches;
 * forged, tampered, foreign, replayed, late and unauthenticated feedback; malformed bodies; the
 * estimate without labels.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PerformanceReport, VersionPerformance } from '../../domain/label-statistics.ts';
import type { FeedbackReply } from '../../serving/feedback-api.ts';
import { PREDICTION_ID_HEADER } from '../../serving/headers.ts';
import {
  call,
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  type Reply,
  scratchDir,
  startTestServer,
  type TestServer,
  TOKEN,
} from './support.ts';

const SECRET = 'prediction-secret-shared-by-replicas';
const FEEDBACK = 'feedback-token-of-the-label-source';
const DAY = 86_400_000;

interface Prediction {
  id: string | null;
  classes: number[];
  probabilities: number[][];
  reply: Reply;
}

async function predict(url: string, model: string, rows: number[][], extra = {}): Promise<Prediction> {
  const reply = await infer(url, model, irisRequest(rows, extra));
  expect(reply.status).toBe(200);
  const outputs = (reply.body as { outputs: { name: string; data: number[] }[] }).outputs;
  const probabilities = outputs.find((o) => o.name === 'probabilities')?.data ?? [];
  return {
    id: reply.headers.get(PREDICTION_ID_HEADER),
    classes: outputs.find((o) => o.name === 'label')?.data ?? [],
    probabilities: rows.map((_, r) => probabilities.slice(r * 3, r * 3 + 3)),
    reply,
  };
}

/** A prediction made while the clock reads `offsetMs` from now. */
async function predictAt(offsetMs: number, url: string, model: string, row: number[]) {
  const now = Date.now();
  const clock = vi.spyOn(Date, 'now').mockReturnValue(now + offsetMs);
  try {
    return await predict(url, model, [row]);
  } finally {
    clock.mockRestore();
  }
}

/** POST feedback with `token` (null: no Authorization header). */
function feedback(url: string, model: string, body: unknown, token: string | null = FEEDBACK) {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  return call(`${url}/v2/models/${model}/feedback`, { body, headers });
}

const versionOf = (report: PerformanceReport, version: string) =>
  report.versions.find((entry) => entry.version === version) as VersionPerformance;

describe('ground truth: prediction ids and feedback', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;
  let holdout: Awaited<ReturnType<typeof irisHoldout>>;
  const row = [5.1, 3.5, 1.4, 0.2];

  beforeAll(async () => {
    dir = await scratchDir();
    holdout = await irisHoldout();
    t = await startTestServer({ predictionIdSecrets: [SECRET], feedbackToken: FEEDBACK });
    // One model per concern, so each test's counts start from zero.
    for (const model of ['iris', 'misc', 'other', 'quiet']) {
      const bundlePath = await makeBundle({ root: dir.path, version: 'v1', model });
      await t.admin.loadVersion({ model, version: 'v1', bundlePath });
    }
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('answers a routed prediction with an id in a header and in parameters, and none when pinned', async () => {
    const routed = await predict(t.url, 'misc', [row], { id: 'client-7' });
    expect(routed.id).toMatch(/^[A-Za-z0-9_-]{40,80}$/);
    expect(routed.reply.body).toMatchObject({ id: 'client-7', parameters: { prediction_id: routed.id } });
    const pinned = await call(`${t.url}/v2/models/misc/versions/v1/infer`, { body: irisRequest([row]) });
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get(PREDICTION_ID_HEADER)).toBeNull();
    expect(pinned.body).not.toHaveProperty('parameters');
  });

  it('measures accuracy, the confusion matrix and macro rates exactly from labels fed back', async () => {
    const rows = holdout.rows.slice(0, 30);
    const predictions = [];
    for (const features of rows) predictions.push(await predict(t.url, 'iris', [features]));
    // The holdout's true label, except every fourth row, which gets a deliberately wrong one.
    const sent = predictions.map((p, i) => {
      const predicted = p.classes[0] as number;
      const label = i % 4 === 3 ? (predicted + 1) % 3 : (holdout.labels[i] as number);
      return { predicted, label, id: p.id as string };
    });
    const reply = await feedback(t.url, 'iris', {
      labels: sent.map(({ id, label }) => ({ prediction_id: id, label })),
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      items: 30,
      accepted: 30,
      accepted_rows: 30,
      duplicate: 0,
      unknown: 0,
    });

    // The expected matrix, built independently: classes in first-seen order (label, then prediction).
    const classes: string[] = [];
    for (const { label, predicted } of sent)
      for (const c of [String(label), String(predicted)]) if (!classes.includes(c)) classes.push(c);
    const matrix: number[][] = [...classes, 'other'].map(() => new Array(classes.length + 1).fill(0));
    const cell = (t: number, p: number) => matrix[t]?.[p] ?? 0;
    for (const { label, predicted } of sent) {
      const [t, p] = [classes.indexOf(String(label)), classes.indexOf(String(predicted))];
      (matrix[t] as number[])[p] = cell(t, p) + 1;
    }
    const correct = sent.filter((s) => s.label === s.predicted).length;
    expect(correct).toBeLessThan(30);
    expect(correct).toBeGreaterThan(15);

    const performance = versionOf(await t.admin.performance({ model: 'iris' }), 'v1');
    expect(performance.counts).toMatchObject({ labelled: 30, correct, classes, confusion: matrix });
    expect(performance.accuracy?.value).toBeCloseTo(correct / 30, 12);
    expect(performance.accuracy?.low).toBeLessThan(correct / 30);
    expect(performance.accuracy?.high).toBeGreaterThan(correct / 30);
    const perClass = classes.map((_, i) => {
      const hits = cell(i, i);
      const support = matrix.reduce((a, _row, p) => a + cell(i, p), 0);
      const predicted = matrix.reduce((a, _row, t) => a + cell(t, i), 0);
      return {
        precision: predicted === 0 ? 0 : hits / predicted,
        recall: support === 0 ? 0 : hits / support,
        f1: (2 * hits) / (support + predicted),
      };
    });
    const mean = (key: 'precision' | 'recall' | 'f1') =>
      perClass.reduce((a, c) => a + c[key], 0) / classes.length;
    expect(performance.macro?.precision.value).toBeCloseTo(mean('precision'), 12);
    expect(performance.macro?.recall.value).toBeCloseTo(mean('recall'), 12);
    expect(performance.macro?.f1.value).toBeCloseTo(mean('f1'), 12);

    // The estimate without labels: the mean top-class probability of the 30 routed rows.
    const expected = predictions.reduce((sum, p) => sum + Math.max(...(p.probabilities[0] ?? [])), 0) / 30;
    expect(performance.estimate).toMatchObject({ estimate: true, method: 'confidence-based', rows: 30 });
    expect(performance.estimate.expectedAccuracy?.value).toBeCloseTo(expected, 6);
    expect(performance.estimate.calibration).toMatchObject({ labelledRows: 30, observed: correct / 30 });
    expect(performance.estimate.calibration.expected).toBeCloseTo(expected, 2);

    const metrics = (await call(`${t.url}/metrics`)).text;
    expect(metrics).toContain('modelship_labels_total{model="iris",version="v1"} 30');
    expect(metrics).toContain(`modelship_labels_correct_total{model="iris",version="v1"} ${correct}`);
    expect(metrics).toContain('# TYPE modelship_estimated_accuracy gauge');
    const gauge = /^modelship_estimated_accuracy\{model="iris",version="v1"\} (\S+)$/m.exec(metrics);
    expect(Number(gauge?.[1])).toBeCloseTo(expected, 6);
  });

  it('takes labels for a batch, one per row in order; gives no id to a batch over 32 rows', async () => {
    const batch = await predict(t.url, 'misc', holdout.rows.slice(40, 43));
    expect(batch.classes).toHaveLength(3);
    const before = versionOf(await t.admin.performance({ model: 'misc' }), 'v1').counts.labelled;

    const single = await feedback(t.url, 'misc', { labels: [{ prediction_id: batch.id, label: 1 }] });
    expect(single.status).toBe(400);
    expect(JSON.stringify(single.body)).toContain('labels[0]: the prediction id covers 3 rows');
    const short = await feedback(t.url, 'misc', { labels: [{ prediction_id: batch.id, labels: [1, 2] }] });
    expect(JSON.stringify(short.body)).toContain(
      'labels[0]: has 2 labels, but the prediction id covers 3 rows',
    );

    const right = batch.classes.map((c) => c);
    const reply = await feedback(t.url, 'misc', { labels: [{ prediction_id: batch.id, labels: right }] });
    expect(reply.body).toMatchObject({ accepted: 1, accepted_rows: 3 });
    const after = versionOf(await t.admin.performance({ model: 'misc' }), 'v1').counts;
    expect(after.labelled - before).toBe(3);

    const large = await predict(t.url, 'misc', holdout.rows.slice(0, 33));
    expect(large.id).toBeNull();
    expect(large.reply.body).not.toHaveProperty('parameters');
    expect((await predict(t.url, 'misc', holdout.rows.slice(0, 32))).id).not.toBeNull();
  });

  it('refuses forged, tampered, foreign, replayed, late and future ids, counting each as such', async () => {
    const good = (await predict(t.url, 'misc', [row])).id as string;
    const twin = (await predict(t.url, 'misc', [row])).id as string;
    const middle = Math.floor(good.length / 2);
    const tampered = `${good.slice(0, middle)}${good[middle] === 'A' ? 'B' : 'A'}${good.slice(middle + 1)}`;
    const foreign = (await predict(t.url, 'other', [row])).id as string;
    const late = (await predictAt(-31 * DAY, t.url, 'misc', row)).id as string;
    const stillFine = (await predictAt(-29 * DAY, t.url, 'misc', row)).id as string;
    const future = (await predictAt(DAY, t.url, 'misc', row)).id as string;
    const stranger = await startTestServer({
      predictionIdSecrets: ['another secret'],
      feedbackToken: FEEDBACK,
    });
    let forged: string;
    try {
      await stranger.admin.loadVersion({
        model: 'misc',
        version: 'v1',
        bundlePath: await makeBundle({ root: dir.path, version: 'v1', model: 'misc' }),
      });
      forged = (await predict(stranger.url, 'misc', [row])).id as string;
    } finally {
      await stranger.close();
    }
    const items = [good, good, tampered, 'not-an-id', forged, foreign, late, stillFine, future, twin];
    const reply = await feedback(t.url, 'misc', {
      labels: items.map((id) => ({ prediction_id: id, label: 0 })),
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      model: 'misc',
      items: 10,
      accepted: 3,
      accepted_rows: 3,
      duplicate: 1,
      unknown: 4,
      wrong_model: 1,
      late: 1,
      unknown_version: 0,
      outcomes: [
        'accepted',
        'duplicate',
        'unknown',
        'unknown',
        'unknown',
        'wrong_model',
        'late',
        'accepted',
        'unknown',
        'accepted',
      ],
    } satisfies FeedbackReply);
    // A replay in a later request, and the foreign id at its own model, where it belongs.
    const again = await feedback(t.url, 'misc', { labels: [{ prediction_id: twin, label: 0 }] });
    expect(again.body).toMatchObject({ duplicate: 1, accepted: 0 });
    const home = await feedback(t.url, 'other', { labels: [{ prediction_id: foreign, label: 0 }] });
    expect(home.body).toMatchObject({ accepted: 1 });
  });

  it('needs the feedback token: missing, wrong or the admin token get 401, and nothing is counted', async () => {
    const id = (await predict(t.url, 'misc', [row])).id as string;
    const body = { labels: [{ prediction_id: id, label: 0 }] };
    const none = await feedback(t.url, 'misc', body, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="modelship-feedback"');
    expect((await feedback(t.url, 'misc', body, 'wrong-token')).status).toBe(401);
    expect((await feedback(t.url, 'misc', body, TOKEN)).status).toBe(401);
    expect((await feedback(t.url, 'misc', body)).body).toMatchObject({ accepted: 1 });
    expect((await call(`${t.url}/admin/v1/models/misc/performance`)).status).toBe(401);

    const closed = await startTestServer({ predictionIdSecrets: [SECRET] });
    try {
      const refused = await feedback(closed.url, 'misc', body);
      expect(refused.status).toBe(403);
      expect(JSON.stringify(refused.body)).toContain('feedback is not enabled on this server');
    } finally {
      await closed.close();
    }
    await expect(startTestServer({ feedbackToken: TOKEN })).rejects.toThrow(
      /must differ from the admin token/,
    );
  });

  it('answers malformed bodies with a 400 naming the item, and counts nothing of them', async () => {
    const id = (await predict(t.url, 'misc', [row])).id as string;
    const valid = { prediction_id: id, label: 0 };
    const cases: [unknown, string][] = [
      ['{"labels": [', 'request body is not valid JSON'],
      [{}, 'labels: must be an array'],
      [{ labels: [] }, 'labels: must hold at least one item'],
      [{ labels: [valid, { label: 1 }] }, 'labels[1].prediction_id: must be a string'],
      [{ labels: [valid, 'x'] }, 'labels[1]'],
      [{ labels: [{ prediction_id: id, label: 1, labels: [1] }] }, 'labels[0]: needs exactly one of "label"'],
      [{ labels: [{ prediction_id: id }] }, 'labels[0]: needs exactly one of "label"'],
      [{ labels: [{ prediction_id: id, label: 1.5 }] }, 'labels[0].label: must be an integer class'],
      [{ labels: [valid, { prediction_id: id, label: '1' }] }, 'labels[1].label: must be an integer'],
      [{ labels: [{ prediction_id: id, lable: 1 }] }, 'labels[0]: Unrecognized key: "lable"'],
      [{ labels: [{ prediction_id: id, labels: [] }] }, 'labels[0].labels: must not be empty'],
    ];
    for (const [body, message] of cases) {
      const reply = await feedback(t.url, 'misc', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect((reply.body as { error: string }).error, JSON.stringify(body)).toContain(message);
    }
    const oversized = await feedback(t.url, 'misc', {
      labels: new Array(10_001).fill(valid),
    });
    expect(oversized.status).toBe(400);
    // None of those counted the valid item: it is accepted now, once.
    expect((await feedback(t.url, 'misc', { labels: [valid] })).body).toMatchObject({ accepted: 1 });
    expect((await feedback(t.url, 'ghost', { labels: [valid] })).status).toBe(404);
    expect(
      (
        await call(`${t.url}/v2/models/misc/feedback`, {
          method: 'GET',
          headers: { authorization: `Bearer ${FEEDBACK}` },
        })
      ).status,
    ).toBe(405);
  });

  it('estimates accuracy without labels, also from clients that ask only for the label', async () => {
    const empty = versionOf(await t.admin.performance({ model: 'quiet' }), 'v1');
    expect(empty.estimate).toMatchObject({ estimate: true, rows: 0, expectedAccuracy: null });
    expect(empty.accuracy).toBeNull();
    const full = await predict(t.url, 'quiet', holdout.rows.slice(0, 4));
    const labelOnly = await infer(
      t.url,
      'quiet',
      irisRequest(holdout.rows.slice(4, 6), { outputs: [{ name: 'label' }] }),
    );
    expect((labelOnly.body as { outputs: unknown[] }).outputs).toHaveLength(1);
    const withProbabilities = await predict(t.url, 'quiet', holdout.rows.slice(4, 6));
    const tops = [...full.probabilities, ...withProbabilities.probabilities].map((p) => Math.max(...p));
    const performance = versionOf(await t.admin.performance({ model: 'quiet' }), 'v1');
    // 4 + 2 (label only, probabilities fetched internally) + 2 rows.
    expect(performance.estimate.rows).toBe(8);
    expect(performance.counts.labelled).toBe(0);
    expect(performance.accuracy).toBeNull();
    const mean = (tops.reduce((a, b) => a + b, 0) + tops.slice(4).reduce((a, b) => a + b, 0)) / 8;
    expect(performance.estimate.expectedAccuracy?.value).toBeCloseTo(mean, 6);
    expect(performance.estimate.expectedAccuracy?.low).toBeLessThan(mean);
  });
});
