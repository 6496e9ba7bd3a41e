/**
 * A model that fails at run time, and one that answers NaN: 500s counted against the version
 * that failed, never against its neighbour, and never a crash. The fragile model
 * (`hand-made-models.ts`) fails on demand: a row whose largest value is 3 or more makes its Gather
 * read out of bounds, a negative value makes its Sqrt output NaN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fragileModel } from './hand-made-models.ts';
import {
  infer,
  irisRequest,
  makeBundle,
  outputsOf,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

const FINE = [0, 1.5, 0, 0];
const THROWS = [9, 0, 0, 0];
const NAN = [-1, 0.5, 0, 0];

describe('a model that fails', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    // Stable is iris v1 (fine on any input); the fragile model joins as version "f1".
    const stable = await makeBundle({ root: dir.path, version: 'v1', model: 'fragile' });
    await t.admin.loadVersion({ model: 'fragile', version: 'v1', bundlePath: stable });
    const fragile = await makeBundle({
      root: dir.path,
      version: 'f1',
      model: 'fragile',
      onnx: fragileModel(),
    });
    await t.admin.loadVersion({ model: 'fragile', version: 'f1', bundlePath: fragile });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  const pinned = (rows: number[][], extra: Record<string, unknown> = {}) =>
    infer(t.url, 'fragile', irisRequest(rows, extra), { 'x-modelship-version': 'f1' });
  const metricsOf = async (version: string) => (await t.admin.metrics()).models.fragile?.[version];
  const errorsOf = async (version: string) => (await metricsOf(version))?.errors;
  const pinnedErrorsOf = async (version: string) => (await metricsOf(version))?.pinned.errors;

  it('warmed up on zero input and answers well-formed rows', async () => {
    const reply = await pinned([FINE]);
    expect(reply.status).toBe(200);
    expect(outputsOf(reply)[0]?.data).toEqual([1]);
  });

  it('answers 500 with onnxruntime’s reason when the model throws, counted as an inference error', async () => {
    const reply = await pinned([FINE, THROWS]);
    expect(reply.status).toBe(500);
    expect(reply.headers.get('x-modelship-version')).toBe('f1');
    expect(reply.body).toEqual({
      error: expect.stringMatching(
        /^model "fragile" version "f1" failed to run: .*indices element out of data bounds/,
      ),
    });
    // Pinned: counted apart from the routed traffic the judge reads.
    expect(await pinnedErrorsOf('f1')).toEqual({ inference: 1, non_finite: 0 });
    expect(await errorsOf('f1')).toEqual({ inference: 0, non_finite: 0 });
  });

  it('answers 500 for NaN in an output instead of returning it, counted as non-finite', async () => {
    const reply = await pinned([NAN]);
    expect(reply.status).toBe(500);
    expect(reply.body).toEqual({
      error: 'model "fragile" version "f1" produced NaN or Infinity in output "probabilities"',
    });
    expect(await pinnedErrorsOf('f1')).toEqual({ inference: 1, non_finite: 1 });
    // Without the NaN output in the request, it is not computed, and the answer is fine.
    const labelOnly = await pinned([NAN], { outputs: [{ name: 'label' }] });
    expect(labelOnly.status).toBe(200);
    expect(outputsOf(labelOnly)[0]).toMatchObject({ name: 'label', data: [0] });
  });

  it('charges failures of a canary to the canary, not to stable', async () => {
    const before = await errorsOf('f1');
    await t.admin.setCanary({ model: 'fragile', version: 'f1', weight: 50 });
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => infer(t.url, 'fragile', irisRequest([THROWS]))),
    );
    const byVersion = (version: string) =>
      replies.filter((r) => r.headers.get('x-modelship-version') === version);
    expect(byVersion('f1').length + byVersion('v1').length).toBe(40);
    expect(byVersion('f1').every((reply) => reply.status === 500)).toBe(true);
    expect(byVersion('v1').every((reply) => reply.status === 200)).toBe(true);
    expect(await errorsOf('v1')).toEqual({ inference: 0, non_finite: 0 });
    expect((await errorsOf('f1'))?.inference).toBe((before?.inference ?? 0) + byVersion('f1').length);
    const metrics = (await t.admin.metrics()).models.fragile;
    // Routed requests only: the four pinned ones above are counted apart.
    expect(metrics?.f1?.requests).toBe(byVersion('f1').length);
    expect(metrics?.f1?.pinned.requests).toBe(4);
    // Failed runs reached the model: their time is in the histogram, like successful ones.
    expect(metrics?.f1?.latency.count).toBe(metrics?.f1?.requests);
  });
});
