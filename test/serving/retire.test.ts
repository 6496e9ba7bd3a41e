/**
 * Retiring a whole model (`DELETE /admin/v1/models/{model}`): routing goes at once (404), requests
 * already in flight are answered by the versions they hold, those versions are then unloaded, and
 * retiring again is a 200 that says there was nothing to do.
 */
import { type ClientRequest, request } from 'node:http';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  call,
  eventually,
  infer,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
  TOKEN,
} from './support.ts';

const auth = { authorization: `Bearer ${TOKEN}` };

describe('retiring a model', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const bundles: Record<string, string> = {};
  let t: TestServer;
  let log: string[];

  beforeAll(async () => {
    dir = await scratchDir();
    for (const version of ['v1', 'v2']) bundles[version] = await makeBundle({ root: dir.path, version });
    return () => dir.remove();
  });
  beforeEach(async () => {
    log = [];
    t = await startTestServer({ log: (line) => log.push(line) });
    for (const version of ['v1', 'v2'])
      await t.admin.loadVersion({ model: 'iris', version, bundlePath: bundles[version] ?? '' });
  });
  afterEach(async () => {
    await t.close();
  });

  /** A request whose body is only half sent: it holds its version until `finish`. */
  function halfSentRequest(headers: Record<string, string> = {}) {
    const body = JSON.stringify(irisRequest([[6.3, 2.8, 5.1, 1.5]]));
    let req: ClientRequest | undefined;
    const reply = new Promise<{ status: number; version: string | undefined }>((resolve, reject) => {
      req = request(
        `${t.url}/v2/models/iris/infer`,
        { method: 'POST', headers: { 'content-length': body.length, ...headers } },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, version: res.headers['x-modelship-version'] as string }),
          );
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 20));
    });
    return { reply, finish: () => req?.end(body.slice(20)) };
  }

  it('stops routing at once, lets in-flight requests finish, then unloads every version', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 50 });
    const onStable = halfSentRequest({ 'x-modelship-version': 'v1' });
    const onCanary = halfSentRequest({ 'x-modelship-version': 'v2' });
    // Both requests have been routed (and hold their versions) once their headers arrived.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const retired = await call(`${t.url}/admin/v1/models/iris`, { method: 'DELETE', headers: auth });
    expect(retired.status).toBe(200);
    expect(retired.body).toEqual({
      model: 'iris',
      retired: true,
      draining: ['v1', 'v2'],
      message: 'model "iris" retired: traffic stopped; versions draining, then unloaded: v1, v2',
    });

    // New requests: the model is gone, from inference and from the admin API.
    const refused = await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    expect(refused.status).toBe(404);
    expect(refused.body).toEqual({ error: 'model "iris" is not loaded (models: none)' });
    expect(await t.admin.models()).toEqual([]);
    await expect(t.admin.state({ model: 'iris' })).rejects.toMatchObject({ status: 404 });

    // The requests in flight are answered by the versions they hold; only then are those released.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log.filter((line) => line.includes('drained and unloaded'))).toEqual([]);
    onStable.finish();
    onCanary.finish();
    expect(await onStable.reply).toEqual({ status: 200, version: 'v1' });
    expect(await onCanary.reply).toEqual({ status: 200, version: 'v2' });
    await eventually(() => log.filter((line) => line.includes('drained and unloaded')).length === 2);
    expect(log).toContain('iris: version "v1" drained and unloaded');
    expect(log).toContain('iris: version "v2" drained and unloaded');

    // Metrics are cumulative and stay.
    expect((await t.admin.metrics()).models.iris?.v1?.pinned.requests).toBe(1);
  });

  it('is idempotent: retiring an unknown or already retired model is a 200 saying so', async () => {
    expect((await t.admin.retireModel({ model: 'iris' })).retired).toBe(true);
    const again = await t.admin.retireModel({ model: 'iris' });
    expect(again).toEqual({
      model: 'iris',
      retired: false,
      draining: [],
      message: 'model "iris" is not loaded (never deployed here, or already retired): nothing to retire',
    });
    expect((await t.admin.retireModel({ model: 'tulip' })).retired).toBe(false);
  });

  it('needs the admin token', async () => {
    expect((await call(`${t.url}/admin/v1/models/iris`, { method: 'DELETE' })).status).toBe(401);
    expect((await t.admin.models()).map((state) => state.model)).toEqual(['iris']);
  });

  it('can deploy the model again after retiring it', async () => {
    await t.admin.retireModel({ model: 'iris' });
    const state = await t.admin.loadVersion({ model: 'iris', version: 'v2', bundlePath: bundles.v2 ?? '' });
    expect(state).toMatchObject({ stable: { version: 'v2' } });
    const answered = await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    expect(answered.status).toBe(200);
    expect(answered.headers.get('x-modelship-version')).toBe('v2');
  });
});
