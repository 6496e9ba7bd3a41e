/**
 * No client can poison the canary judge. A real data plane (iris, in this process, real HTTP)
 * serves a healthy canary at 50 % while a flood of hostile requests hits it: malformed bodies,
 * values outside FP32, repeated outputs, huge shapes, deep nesting, stalled and trickled uploads,
 * routed and pinned to the candidate, and pinned requests that really make the model answer NaN.
 * The monitor activity (`watchCandidate`, reading the admin API as in a rollout) passes the
 * canary. Before refusals and pinned traffic were counted apart, the same flood charged the
 * candidate with 4xx and NaN errors and slow uploads, and the judge failed it. A candidate that
 * really fails still fails under the same flood.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCounterSource } from '../../activities/counter-source.ts';
import { createMonitorActivities } from '../../activities/monitor.ts';
import { judgeSequential } from '../../analysis/sequential-judge.ts';
import { modelWindows } from '../../analysis/window.ts';
import { ModelDeploymentSchema } from '../../specs/schema.ts';
import { fragileModel } from '../serving/hand-made-models.ts';
import { rawRequest } from '../serving/raw-http.ts';
import {
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
} from '../serving/support.ts';
import { repoPath } from '../support/paths.ts';

const deployment = {
  model: 'iris',
  environment: 'staging',
  commit: '0'.repeat(40),
  specPath: 'specs/iris.yaml',
  repository: repoPath('.'),
};

const ROW = [5.1, 3.5, 1.4, 0.2];

/** Bodies a hostile client sends; each is refused with a 4xx. */
const HOSTILE: string[] = [
  '{"inputs": [',
  JSON.stringify(irisRequest([[1e39, 1, 1, 1]])),
  JSON.stringify(
    irisRequest([ROW], { outputs: Array.from({ length: 200 }, () => ({ name: 'probabilities' })) }),
  ),
  JSON.stringify(irisRequest([ROW], {})).replace('[1,4]', '[1000000000,4]'),
  `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`,
  JSON.stringify(irisRequest([ROW])).replace('FP32', 'INT64'),
  JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: ROW }] }),
];

/** Well-formed values at the edge of FP32 that make the iris models answer NaN: a real model failure. */
const OVERFLOWING = JSON.stringify(irisRequest([[3e38, 3e38, 3e38, 3e38]]));

/** A valid body sent in two parts, `gapMs` apart: slow for the client, not for the server. */
function trickled(url: string, gapMs: number): Promise<number> {
  const body = JSON.stringify(irisRequest([ROW]));
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v2/models/iris/infer`,
      { method: 'POST', headers: { 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 20));
    setTimeout(() => req.end(body.slice(20)), gapMs);
  });
}

describe('a flood of hostile requests against a canary', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;
  let rows: number[][];

  beforeAll(async () => {
    dir = await scratchDir();
    rows = (await irisHoldout()).rows;
    t = await startTestServer({ bodyTimeoutMs: 300 });
    const healthy = await makeBundle({ root: dir.path, version: 'v1' });
    await t.admin.loadVersion({ model: 'iris', version: 'stable', bundlePath: healthy });
    // The same model under another name: a healthy candidate, predicting as stable does.
    await t.admin.loadVersion({ model: 'iris', version: 'candidate', bundlePath: healthy });
    const broken = await makeBundle({ root: dir.path, version: 'broken', onnx: fragileModel() });
    await t.admin.loadVersion({ model: 'iris', version: 'broken', bundlePath: broken });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  /** Normal routed traffic and the flood, aimed at `candidate`, until `stop` is called. */
  function traffic(candidate: string) {
    let running = true;
    const loop = async (send: (i: number) => Promise<unknown>) => {
      for (let i = 0; running; i += 1) await send(i);
    };
    const pinned = { 'x-modelship-version': candidate };
    const loops = [
      // The whole holdout per request, so both arms see the same classes, whatever the routing.
      ...Array.from({ length: 3 }, () => loop(() => infer(t.url, 'iris', irisRequest(rows)))),
      loop((i) => infer(t.url, 'iris', HOSTILE[i % HOSTILE.length] as string)),
      loop((i) => infer(t.url, 'iris', HOSTILE[i % HOSTILE.length] as string, pinned)),
      loop(() => infer(t.url, 'iris', OVERFLOWING, pinned)),
      // Uploads that stall (408 after bodyTimeoutMs) or trickle in over a second (200).
      loop(() =>
        rawRequest(t.url, 'POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n{'),
      ),
      ...Array.from({ length: 4 }, () => loop(() => trickled(t.url, 1_200))),
    ];
    return async () => {
      running = false;
      await Promise.all(loops);
    };
  }

  const watch = (candidate: string, analysis: object, durationMs: number) =>
    createMonitorActivities({ admin: t.admin }).watchCandidate({
      deployment,
      stable: 'stable',
      candidate,
      mode: 'analysis',
      durationMs,
      intervalMs: 500,
      analysis: ModelDeploymentSchema.shape.spec.shape.analysis.parse(analysis),
      candidateWeight: 50,
    });

  it('does not make the judge fail a healthy canary', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'candidate', weight: 50 });
    const stop = traffic('candidate');
    // The threshold judge passes at the end when no limit is broken: errors at most 1 %, p99 at
    // most 1 s (a trickled upload counted as latency would break it), predictions as stable's.
    const result = await watch(
      'candidate',
      { judge: 'threshold', minRequests: 50, latencyP99: { max: '1s' } },
      3_000,
    ).finally(stop);
    expect(result.verdict).toMatchObject({
      outcome: 'pass',
      reason: expect.stringMatching(/every limit holds/),
    });

    // What the monitor read over the watch: the flood is there, counted apart from the judged traffic.
    const windows = modelWindows(result.start.baseline, await adminCounterSource(t.admin).read('iris'));
    const candidate = (await t.admin.metrics()).models.iris?.candidate;
    expect(windows.candidate?.errors).toBe(0);
    expect(windows.stable?.errors).toBe(0);
    expect(windows.candidate?.latency.p99?.ms).toBeLessThan(1_000);
    expect(candidate?.refused.bad_request).toBeGreaterThan(0);
    expect(candidate?.refused.timeout).toBeGreaterThan(0);
    expect(candidate?.pinned.refused.bad_request).toBeGreaterThan(0);
    expect(candidate?.pinned.errors.non_finite).toBeGreaterThan(0);

    // The sequential judge (the default) on the same windows finds nothing against it either.
    const stable = windows.stable;
    if (!stable || !windows.candidate) throw new Error('no windows');
    const sequential = judgeSequential(
      {
        stable,
        candidate: windows.candidate,
        limits: ModelDeploymentSchema.shape.spec.shape.analysis.parse({}),
        context: { elapsedMs: 3_000, durationMs: 3_000, minRequests: 50, candidateWeight: 50 },
      },
      { alpha: 0.01, minEffect: 0.25 },
    );
    expect(sequential.outcome).not.toBe('fail');
  }, 30_000);

  it('still fails a candidate whose model really fails, under the same flood', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'broken', weight: 50 });
    const stop = traffic('broken');
    const result = await watch('broken', { minRequests: 50 }, 10_000).finally(stop);
    expect(result.verdict.outcome).toBe('fail');
    expect(result.verdict.reason).toMatch(/error/);
  }, 30_000);
});
