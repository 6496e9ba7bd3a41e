/**
 * The pieces of ground truth without a server: prediction ids (round trip, tampering, keys,
 * rotation), the bounded replay set, label counts summed over replicas, and the intervals.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  describeVersionPerformance,
  normalQuantile,
  sumPerformanceReports,
  wilson,
} from '../../analysis/live-performance.ts';
import { addLabelCounts, emptyLabelCounts, MAX_LABEL_CLASSES } from '../../domain/label-statistics.ts';
import { HmacSha256 } from '../../serving/hmac-sha256.ts';
import { VersionLabels } from '../../serving/live-performance.ts';
import {
  idPrefix,
  MAX_ROWS_PER_ID,
  modelTag,
  PredictionIdIssuer,
  predictionIdKeys,
  verifyPredictionId,
} from '../../serving/prediction-id.ts';
import { SeenIds } from '../../serving/seen-ids.ts';

const keys = predictionIdKeys(['replicas-share-this-secret']);
const issue = (
  classes: ArrayLike<number | bigint | string>,
  top?: number[],
  model = 'iris',
  version = 'v1',
  k = keys,
) =>
  new PredictionIdIssuer(k).issue(
    idPrefix(k, model, version) as Buffer,
    classes,
    top && Float64Array.from(top),
  );

describe('the hot-path HMAC-SHA256', () => {
  it('equals node:crypto for every message length up to 300 bytes and keys up to 64', () => {
    for (const keyLength of [0, 1, 32, 64]) {
      const key = randomBytes(keyLength);
      const mac = new HmacSha256(key);
      const out = new Uint8Array(40);
      for (let length = 0; length <= 300; length += 1) {
        const message = randomBytes(length);
        mac.sign(message, length, out, 5, 32);
        const expected = createHmac('sha256', key).update(message).digest();
        expect(Buffer.from(out.subarray(5, 37)).equals(expected), `key ${keyLength}, length ${length}`).toBe(
          true,
        );
      }
    }
  });
});

describe('prediction ids', () => {
  it('carry model, version, classes, time and top probabilities, readable with the same secret only', () => {
    const id = issue(new BigInt64Array([2n, 0n, -3n, 300n]), [0.9, 0.5, 1, 0]) as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    const read = verifyPredictionId(predictionIdKeys(['replicas-share-this-secret']), id);
    expect(read).toMatchObject({ version: 'v1', classes: ['2', '0', '-3', '300'], integerClasses: true });
    expect(read?.modelTag.equals(modelTag('iris'))).toBe(true);
    expect(Math.abs((read?.issuedAt ?? 0) * 1000 - Date.now())).toBeLessThan(2000);
    expect(read?.probabilities?.map((p) => Math.round(p * 100) / 100)).toEqual([0.9, 0.5, 1, 0]);
    expect(verifyPredictionId(predictionIdKeys(['another secret']), id)).toBeUndefined();
  });

  it('are unique per answer, and a one-row iris id is short', () => {
    const a = issue([1]);
    const b = issue([1]);
    expect(a).not.toBe(b);
    expect(issue([1], [0.97], 'iris', '0123456789ab')?.length).toBeLessThanOrEqual(70);
  });

  it('carry string classes, and refuse batches over the cap', () => {
    const id = issue(['setosa', 'virginica']) as string;
    expect(verifyPredictionId(keys, id)).toMatchObject({
      classes: ['setosa', 'virginica'],
      integerClasses: false,
      probabilities: undefined,
    });
    expect(issue(new Array(MAX_ROWS_PER_ID).fill(1))).toBeDefined();
    expect(issue(new Array(MAX_ROWS_PER_ID + 1).fill(1))).toBeUndefined();
    expect(issue(['x'.repeat(300)])).toBeUndefined();
  });

  it('refuse every single-character change, truncation and junk', () => {
    const id = issue([1, 2], [0.8, 0.6]) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let at = 0; at < id.length; at += 1) {
      const other = alphabet[(alphabet.indexOf(id[at] as string) + 17) % 64] as string;
      const tampered = `${id.slice(0, at)}${other}${id.slice(at + 1)}`;
      // The last character carries padding bits base64url decoding may drop: skip a no-op change.
      if (Buffer.from(tampered, 'base64url').equals(Buffer.from(id, 'base64url'))) continue;
      expect(verifyPredictionId(keys, tampered), `changed at ${at}`).toBeUndefined();
    }
    expect(verifyPredictionId(keys, id.slice(0, -1))).toBeUndefined();
    expect(verifyPredictionId(keys, `${id}A`)).toBeUndefined();
    for (const junk of ['', 'not an id!', 'AAAA', 'x'.repeat(5000)])
      expect(verifyPredictionId(keys, junk)).toBeUndefined();
  });

  it('still verify after a key rotation, while the old secret is kept below the new one', () => {
    const old = issue([1], undefined, 'iris', 'v1', predictionIdKeys(['old secret'])) as string;
    const rotated = predictionIdKeys(['new secret', 'old secret']);
    expect(verifyPredictionId(rotated, old)?.classes).toEqual(['1']);
    const fresh = issue([2], undefined, 'iris', 'v1', rotated) as string;
    expect(verifyPredictionId(predictionIdKeys(['old secret']), fresh)).toBeUndefined();
    expect(verifyPredictionId(predictionIdKeys(['new secret']), fresh)?.classes).toEqual(['2']);
  });
});

describe('the replay set', () => {
  const fingerprint = (n: number) => ({ high: Math.imul(n, 2654435761) >>> 0, low: n });

  it('refuses an id seen within its window, and forgets ids beyond twice the window', () => {
    const seen = new SeenIds(100);
    for (let n = 0; n < 100; n += 1) expect(seen.add(fingerprint(n))).toBe(true);
    for (let n = 0; n < 100; n += 1) expect(seen.add(fingerprint(n))).toBe(false);
    // 200 more: the first 100 are now more than 2 windows old.
    for (let n = 100; n < 300; n += 1) seen.add(fingerprint(n));
    for (let n = 200; n < 300; n += 1) expect(seen.add(fingerprint(n))).toBe(false);
    expect(seen.add(fingerprint(0))).toBe(true);
  });

  it('holds the zero fingerprint too', () => {
    const seen = new SeenIds(4);
    expect(seen.add({ high: 0, low: 0 })).toBe(true);
    expect(seen.add({ high: 0, low: 0 })).toBe(false);
  });
});

describe('live performance statistics', () => {
  it('Wilson intervals and normal quantiles match published values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.575829, 6);
    const interval = wilson(8, 10, normalQuantile(0.975));
    expect(interval?.low).toBeCloseTo(0.4902, 4);
    expect(interval?.high).toBeCloseTo(0.9433, 4);
    expect(wilson(0, 0, 1.96)).toBeNull();
  });

  it('pools classes beyond the cap in "other" and keeps the matrix square', () => {
    const labels = new VersionLabels('m', 'v');
    for (let c = 0; c < MAX_LABEL_CLASSES + 10; c += 1) labels.addLabel(String(c), String(c), undefined);
    const counts = labels.counts();
    expect(counts.classes).toHaveLength(MAX_LABEL_CLASSES);
    expect(counts.confusion).toHaveLength(MAX_LABEL_CLASSES + 1);
    expect(counts.confusion[MAX_LABEL_CLASSES]?.[MAX_LABEL_CLASSES]).toBe(10);
    expect(counts.correct).toBe(MAX_LABEL_CLASSES + 10);
  });

  it('sums replicas by class name, whatever order each saw the classes in', () => {
    const a = new VersionLabels('m', 'v');
    a.addLabel('cat', 'cat', 0.9);
    a.addLabel('dog', 'cat', 0.6);
    const b = new VersionLabels('m', 'v');
    b.addLabel('dog', 'dog', 0.7);
    b.addLabel('cat', 'dog', 0.8);
    b.addLabel('bird', 'bird', undefined);
    const sum = addLabelCounts(a.counts(), b.counts());
    expect(sum.classes).toEqual(['cat', 'dog', 'bird']);
    expect(sum.confusion).toEqual([
      [1, 1, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect(sum).toMatchObject({ labelled: 5, correct: 3, calibration: { rows: 4, correct: 2 } });
    expect(addLabelCounts(emptyLabelCounts(), sum)).toEqual(sum);

    const report = (counts: typeof sum) => ({
      model: 'm',
      takenAt: '2030-01-01T00:00:00.000Z',
      confidence: 0.95,
      versions: [describeVersionPerformance('v', counts)],
    });
    const summed = sumPerformanceReports('m', [report(a.counts()), report(b.counts())]);
    expect(summed.versions[0]?.counts).toEqual(sum);
    expect(summed.versions[0]?.accuracy?.value).toBeCloseTo(3 / 5, 12);
  });

  it('macro precision, recall and F1 follow scikit-learn, with intervals around them', () => {
    const labels = new VersionLabels('m', 'v');
    // true → predicted: a→a ×3, a→b ×1, b→b ×2, c→b ×1 (c never predicted).
    for (const [t, p] of [
      ['a', 'a'],
      ['a', 'a'],
      ['a', 'a'],
      ['a', 'b'],
      ['b', 'b'],
      ['b', 'b'],
      ['c', 'b'],
    ])
      labels.addLabel(t as string, p as string, undefined);
    const performance = describeVersionPerformance('v', labels.counts());
    // precision a 3/3, b 2/4, c 0 (never predicted); recall a 3/4, b 2/2, c 0/1.
    expect(performance.macro?.precision.value).toBeCloseTo((1 + 0.5 + 0) / 3, 12);
    expect(performance.macro?.recall.value).toBeCloseTo((0.75 + 1 + 0) / 3, 12);
    expect(performance.macro?.f1.value).toBeCloseTo((6 / 7 + 4 / 6 + 0) / 3, 12);
    for (const metric of ['precision', 'recall', 'f1'] as const) {
      const interval = performance.macro?.[metric];
      expect(interval?.low).toBeLessThan(interval?.value ?? 0);
      expect(interval?.high).toBeGreaterThan(interval?.value ?? 1);
    }
    expect(performance.perClass.find((c) => c.class === 'c')).toMatchObject({ precision: null, recall: 0 });
  });
});
