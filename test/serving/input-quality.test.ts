/**
 * Data quality at the door, over real HTTP with the real iris model: constraints from
 * `spec.interface.inputs[].features` counted (`onViolation: count`) or refused with a 400 that
 * names the input, feature, row, value and constraint (`reject`), JSON null as a missing value,
 * and hostile bodies that must end in a 4xx, never in an unhandled error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveStatistics } from '../../domain/reference-profile.ts';
import { irisProfile, sample } from './live-statistics-support.ts';
import {
  call,
  infer,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

const INPUT_LINE = '      - { name: input, dtype: float32, shape: [-1, 4] }\n';

/** The iris spec with constraints on its input's four columns. */
const withFeatures = (onViolation: 'count' | 'reject') => (spec: string) => {
  expect(spec).toContain(INPUT_LINE);
  return spec.replace(
    INPUT_LINE,
    `      - name: input
        dtype: float32
        shape: [-1, 4]
        features:
          - { name: sepal_length, min: 4.0, max: 8.5 }
          - { name: sepal_width, min: 0.1, max: 5 }
          - { name: petal_length, min: 0, max: 8, missing: allow }
          - { name: petal_width, allowed: [0.1, 0.2, 0.3, 1, 1.3, 1.5, 1.8, 2] }
        onViolation: ${onViolation}
`,
  );
};

describe('input quality', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  const stats = async (model: string): Promise<LiveStatistics> => {
    const entry = (await t.admin.statistics({ model })).versions[0];
    if (!entry) throw new Error(`no statistics for ${model}`);
    return entry;
  };
  const metricsOf = async (model: string) => (await t.admin.metrics()).models[model]?.v1;
  const good = [5.1, 3.5, 1.4, 0.2];

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    const profile = await irisProfile();
    for (const [model, mode] of [
      ['counted', 'count'],
      ['strict', 'reject'],
    ] as const) {
      await t.admin.loadVersion({
        model,
        version: 'v1',
        bundlePath: await makeBundle({
          root: dir.path,
          version: 'v1',
          model,
          profile,
          editSpec: withFeatures(mode),
        }),
      });
    }
    // No constraints: null stays refused as before.
    await t.admin.loadVersion({
      model: 'plain',
      version: 'v1',
      bundlePath: await makeBundle({ root: dir.path, version: 'v1', model: 'plain' }),
    });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('refuses a row that breaks a constraint under reject, naming input, feature, row, value and constraint', async () => {
    const reply = await infer(t.url, 'strict', irisRequest([good, good, [9.2, 3, 5, 2]]));
    expect(reply.status).toBe(400);
    expect(reply.headers.get('x-modelship-version')).toBe('v1');
    expect(reply.body).toEqual({
      error: 'input "input", feature "sepal_length" (column 0), row 2: 9.2 is above max 8.5',
      violation: {
        input: 'input',
        feature: 'sepal_length',
        column: 0,
        row: 2,
        value: 9.2,
        constraint: 'max: 8.5',
      },
    });
    const below = await infer(t.url, 'strict', irisRequest([[5, 0.05, 1, 0.2]]));
    expect((below.body as { error: string }).error).toBe(
      'input "input", feature "sepal_width" (column 1), row 0: 0.05 is below min 0.1',
    );
    const notAllowed = await infer(t.url, 'strict', irisRequest([[5, 3, 1, 0.7]]));
    expect((notAllowed.body as { error: string }).error).toBe(
      'input "input", feature "petal_width" (column 3), row 0: 0.7 is not one of the allowed values [0.1, 0.2, 0.3, 1, 1.3, 1.5, 1.8, 2]',
    );
  });

  it("counts a refusal as the client's bad request and as a rejected request, never as the version's error", async () => {
    const metrics = await metricsOf('strict');
    expect(metrics?.refused.bad_request).toBe(3);
    expect(metrics?.requests).toBe(0);
    expect(metrics?.errors).toEqual({ inference: 0, non_finite: 0 });
    const v1 = await stats('strict');
    expect(v1?.quality).toEqual({
      violations: {
        'input.sepal_length': 1,
        'input.sepal_width': 1,
        'input.petal_length': 0,
        'input.petal_width': 1,
      },
      rejectedRequests: 3,
    });
    // The rows received are counted, refused ones included: violations over rows is the rate.
    expect(v1?.rows).toBe(5);
    const text = (await call(`${t.url}/metrics`)).text;
    const labels = { model: 'strict', version: 'v1' };
    expect(sample(text, 'modelship_quality_rejected_requests_total', labels)).toBe(3);
    expect(
      sample(text, 'modelship_input_violations_total', {
        ...labels,
        input: 'input',
        feature: 'sepal_length',
      }),
    ).toBe(1);
  });

  it('serves and counts every breaking row under count', async () => {
    const bad = [
      [9.2, 3, 5, 2],
      [3, 0, 9, 0.7],
    ];
    const reply = await infer(t.url, 'counted', irisRequest([good, ...bad]));
    expect(reply.status).toBe(200);
    const v1 = await stats('counted');
    expect(v1?.quality).toEqual({
      violations: {
        'input.sepal_length': 2,
        'input.sepal_width': 1,
        'input.petal_length': 1,
        'input.petal_width': 1,
      },
      rejectedRequests: 0,
    });
    expect((await metricsOf('counted'))?.requests).toBe(1);
  });

  it('passes values at the bounds, compared in the tensor precision (0.1 is not below min 0.1 in FP32)', async () => {
    const edges = [
      [4, 0.1, 0, 0.1],
      [8.5, 5, 8, 2],
    ];
    expect((await infer(t.url, 'strict', irisRequest(edges))).status).toBe(200);
  });

  it('checks pinned requests but does not count them', async () => {
    const before = await stats('counted');
    const pinned = { 'x-modelship-version': 'v1' };
    expect((await infer(t.url, 'counted', irisRequest([[9.2, 3, 5, 2]]), pinned)).status).toBe(200);
    expect((await infer(t.url, 'strict', irisRequest([[9.2, 3, 5, 2]]), pinned)).status).toBe(400);
    expect(await stats('counted')).toEqual(before);
    expect((await metricsOf('strict'))?.pinned.refused.bad_request).toBe(1);
  });

  describe('a missing value (JSON null)', () => {
    const withNull = (column: number) => {
      const row: (number | null)[] = [...good];
      row[column] = null;
      return { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }] };
    };

    it('is served as NaN and counted as missing where the column allows it', async () => {
      const before = await stats('counted');
      // Only the label: iris's probabilities are NaN for a NaN input (see the next test).
      const reply = await infer(t.url, 'counted', { ...withNull(2), outputs: [{ name: 'label' }] });
      expect(reply.status).toBe(200);
      const after = await stats('counted');
      expect(after.features[2]?.missing).toBe((before.features[2]?.missing ?? 0) + 1);
      expect(after.quality.violations).toEqual(before.quality.violations);
      expect(after.requests).toBe(before.requests + 1);
    });

    it("makes a model that cannot take NaN fail as the version's own error where the spec allows it", async () => {
      const before = await metricsOf('counted');
      const reply = await infer(t.url, 'counted', withNull(2));
      expect(reply.status).toBe(500);
      expect((reply.body as { error: string }).error).toMatch(
        /produced NaN or Infinity in output "probabilities"$/,
      );
      expect((await metricsOf('counted'))?.errors.non_finite).toBe((before?.errors.non_finite ?? 0) + 1);
    });

    it("is counted as a violation under count where the column denies it, and a model failing on it is the client's 400", async () => {
      const before = await stats('counted');
      const refusedBefore = (await metricsOf('counted'))?.refused.bad_request ?? 0;
      const labelOnly = await infer(t.url, 'counted', { ...withNull(0), outputs: [{ name: 'label' }] });
      expect(labelOnly.status).toBe(200);
      const after = await stats('counted');
      expect(after.quality.violations['input.sepal_length']).toBe(
        (before.quality.violations['input.sepal_length'] ?? 0) + 1,
      );
      expect(after.features[0]?.missing).toBe((before.features[0]?.missing ?? 0) + 1);
      // With every output, iris answers NaN: the spec said this input is wrong, so it is not the version's error.
      const metricsBefore = await metricsOf('counted');
      const reply = await infer(t.url, 'counted', withNull(0));
      expect(reply.status).toBe(400);
      expect((reply.body as { error: string }).error).toBe(
        `model "counted" version "v1" produced NaN or Infinity in output "probabilities", on input that breaks the spec's constraints: input "input", feature "sepal_length" (column 0), row 0: the value is missing (null), which the spec does not allow (missing: deny)`,
      );
      const metrics = await metricsOf('counted');
      expect(metrics?.errors).toEqual(metricsBefore?.errors);
      expect(metrics?.refused.bad_request).toBe(refusedBefore + 1);
      expect((await stats('counted')).quality.rejectedRequests).toBe(0);
    });

    it('is refused under reject where the column denies it', async () => {
      const reply = await infer(t.url, 'strict', withNull(3));
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({
        error:
          'input "input", feature "petal_width" (column 3), row 0: the value is missing (null), which the spec does not allow (missing: deny)',
        violation: { feature: 'petal_width', column: 3, row: 0, value: null, constraint: 'missing: deny' },
      });
    });

    it('stays refused, as before, in an input without declared features', async () => {
      const reply = await infer(t.url, 'plain', withNull(2));
      expect(reply.status).toBe(400);
      expect((reply.body as { error: string }).error).toBe(
        'input "input": data[2] is null; FP32 needs a number',
      );
    });
  });

  describe('hostile bodies', () => {
    const raw = (data: unknown, shape: unknown = [1, 4]) => ({
      inputs: [{ name: 'input', shape, datatype: 'FP32', data }],
    });

    it('answers 400 for strings, NaN text, objects and arrays nested too deep, never 500', async () => {
      for (const model of ['counted', 'strict']) {
        for (const data of [
          [5, 'NaN', 1, 0.2],
          [5, 'x', 1, 0.2],
          [5, {}, 1, 0.2],
          [[[5, 3, 1, 0.2]]],
          [5, 3, 1],
          [null, null, null, null, null],
          ['Infinity', 3, 1, 0.2],
        ]) {
          const reply = await infer(t.url, model, raw(data));
          expect(reply.status, JSON.stringify(data)).toBe(400);
        }
        // 1e400 parses as Infinity: out of FP32's range, refused before any constraint is read.
        const infinite = '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5,3,1,1e400]}]}';
        const reply = await infer(t.url, model, infinite);
        expect(reply.status).toBe(400);
        expect((reply.body as { error: string }).error).toMatch(/data\[3\] is Infinity/);
      }
    });

    it('refuses a row width other than the declared features', async () => {
      const reply = await infer(t.url, 'counted', raw([5, 3, 1, 0.2, 1], [1, 5]));
      expect(reply.status).toBe(400);
      expect((reply.body as { error: string }).error).toMatch(/dimension 1 must be 4/);
    });

    it('counts a large batch that breaks every row, and refuses it in one answer under reject', async () => {
      const batch = Array.from({ length: 20_000 }, () => [9.9, 9.9, 9.9, 9.9]);
      const before = await stats('counted');
      expect((await infer(t.url, 'counted', irisRequest(batch))).status).toBe(200);
      const after = await stats('counted');
      for (const feature of ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']) {
        const key = `input.${feature}`;
        expect((after?.quality.violations[key] ?? 0) - (before?.quality.violations[key] ?? 0)).toBe(20_000);
      }
      const refused = await infer(t.url, 'strict', irisRequest(batch));
      expect(refused.status).toBe(400);
      expect((refused.body as { violation: { row: number } }).violation.row).toBe(0);
      // And the server still answers.
      expect((await infer(t.url, 'strict', irisRequest([good]))).status).toBe(200);
    });
  });
});

describe('input quality with monitoring off', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer({ monitoring: false });
    for (const [model, mode] of [
      ['counted', 'count'],
      ['strict', 'reject'],
    ] as const) {
      const bundlePath = await makeBundle({
        root: dir.path,
        version: 'v1',
        model,
        editSpec: withFeatures(mode),
      });
      await t.admin.loadVersion({ model, version: 'v1', bundlePath });
    }
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('still refuses under reject, and serves under count without checking', async () => {
    const bad = irisRequest([[9.2, 3, 5, 2]]);
    const refused = await infer(t.url, 'strict', bad);
    expect(refused.status).toBe(400);
    expect((refused.body as { violation: { feature: string } }).violation.feature).toBe('sepal_length');
    expect((await infer(t.url, 'counted', bad)).status).toBe(200);
  });
});
