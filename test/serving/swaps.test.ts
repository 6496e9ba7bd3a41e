/** Routing changes under live traffic: no request fails, and nothing is unloaded under a request. */
import { type ClientRequest, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  eventually,
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

describe('swaps under load', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let bundles: Record<string, string>;
  let t: TestServer;
  let rows: number[][];

  beforeAll(async () => {
    dir = await scratchDir();
    rows = (await irisHoldout()).rows;
    bundles = {
      v1: await makeBundle({ root: dir.path, version: 'v1' }),
      v2: await makeBundle({ root: dir.path, version: 'v2' }),
      'bad-disagree': await makeBundle({ root: dir.path, version: 'bad-disagree' }),
    };
    t = await startTestServer();
    await t.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath: bundles.v1 ?? '' });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('serves 8 clients without one failure through 50 promote/rollback cycles', async () => {
    let stop = false;
    const failures: string[] = [];
    const answered = new Map<string, number>();
    const client = async (id: number) => {
      let i = id;
      while (!stop) {
        // Mix single rows and batches, routed and sticky, so every path crosses the swaps.
        const batch = i % 5 === 0 ? rows : [rows[i % rows.length] ?? []];
        const headers: Record<string, string> =
          i % 3 === 0 ? { 'x-modelship-route-key': `client-${id}` } : {};
        const reply = await infer(t.url, 'iris', irisRequest(batch), headers).catch((error: Error) => ({
          status: 0,
          text: error.message,
          headers: new Headers(),
        }));
        const version = reply.headers.get('x-modelship-version') ?? '(none)';
        if (reply.status !== 200) failures.push(`${reply.status} from ${version}: ${reply.text}`);
        answered.set(version, (answered.get(version) ?? 0) + 1);
        i += 8;
      }
    };
    const clients = Array.from({ length: 8 }, (_, id) => client(id));

    const started = Date.now();
    for (let cycle = 0; cycle < 50; cycle += 1) {
      // The rollback below unloads v2, so each cycle loads it again (or takes it back if it is still draining).
      await t.admin.loadVersion({ model: 'iris', version: 'v2', bundlePath: bundles.v2 ?? '' });
      await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 50 });
      if (cycle % 2 === 0) {
        // A shadow too: the rollback drains and unloads it along with the canary.
        await t.admin.loadVersion({
          model: 'iris',
          version: 'bad-disagree',
          bundlePath: bundles['bad-disagree'] ?? '',
        });
        await t.admin.setShadow({ model: 'iris', version: 'bad-disagree' });
      }
      await t.admin.promote({ model: 'iris', version: 'v2' });
      const state = await t.admin.rollback({ model: 'iris', reason: `cycle ${cycle}` });
      expect(state.stable?.version).toBe('v1');
    }
    // Keep the traffic going for about 3 s in all.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3000 - (Date.now() - started))));
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    const total = [...answered.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(500);
    expect(answered.get('v2') ?? 0).toBeGreaterThan(0);
    expect([...answered.keys()].sort()).toEqual(['v1', 'v2']);
    // Every v2 copy drained and was released. (bad-disagree stays: promote had cleared its shadow
    // role, so the rollback did not find it routed.)
    await eventually(async () => {
      const loaded = (await t.admin.state({ model: 'iris' })).loaded;
      return loaded.map((l) => `${l.version}:${l.state}`).join() === 'v1:ready,bad-disagree:ready';
    });
    const metrics = (await t.admin.metrics()).models.iris;
    expect((metrics?.v1?.requests ?? 0) + (metrics?.v2?.requests ?? 0)).toBe(total);
    // A count of cycles, not a time budget: about 15 s alone, over 30 s beside the whole suite on
    // two cores. The bound only stops a hung run.
  }, 120_000);

  /** Starts a request whose body is only half sent; `finish` sends the rest and resolves to the reply. */
  function halfSentRequest(version: string) {
    const body = JSON.stringify(irisRequest([[6.3, 2.8, 5.1, 1.5]]));
    let req: ClientRequest | undefined;
    const reply = new Promise<{ status: number; version: string | undefined }>((resolve, reject) => {
      req = request(
        `${t.url}/v2/models/iris/infer`,
        { method: 'POST', headers: { 'content-length': body.length, 'x-modelship-version': version } },
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

  it('unloads a version only after its in-flight request has finished', async () => {
    await t.admin.loadVersion({
      model: 'iris',
      version: 'bad-disagree',
      bundlePath: bundles['bad-disagree'] ?? '',
    });
    const inFlight = halfSentRequest('bad-disagree');
    // The request has been routed (and holds its version) as soon as its headers arrived.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const draining = await t.admin.unloadVersion({ model: 'iris', version: 'bad-disagree' });
    expect(draining.loaded).toContainEqual(
      expect.objectContaining({ version: 'bad-disagree', state: 'draining' }),
    );

    // New requests cannot pick a draining version...
    const refused = await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]), {
      'x-modelship-version': 'bad-disagree',
    });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: 'version "bad-disagree" of model "iris" is not ready (draining)' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await t.admin.state({ model: 'iris' })).loaded.map((l) => l.version)).toContain('bad-disagree');

    // ...but the one already in flight is answered by it, and only then is it released.
    inFlight.finish();
    expect(await inFlight.reply).toEqual({ status: 200, version: 'bad-disagree' });
    await eventually(
      async () => !(await t.admin.state({ model: 'iris' })).loaded.some((l) => l.version === 'bad-disagree'),
    );
  });

  it('keeps a rolled-back canary alive for the request it is answering', async () => {
    await t.admin.loadVersion({ model: 'iris', version: 'v2', bundlePath: bundles.v2 ?? '' });
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 10 });
    const inFlight = halfSentRequest('v2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const state = await t.admin.rollback({ model: 'iris', reason: 'test' });
    expect(state.loaded).toContainEqual(expect.objectContaining({ version: 'v2', state: 'draining' }));
    inFlight.finish();
    expect(await inFlight.reply).toEqual({ status: 200, version: 'v2' });
    await eventually(async () => (await t.admin.state({ model: 'iris' })).loaded.length === 1);
  });

  it('releases a version whose client hung up mid-body', async () => {
    await t.admin.loadVersion({ model: 'iris', version: 'v2', bundlePath: bundles.v2 ?? '' });
    const body = JSON.stringify(irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    const req = request(`${t.url}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-length': body.length, 'x-modelship-version': 'v2' },
    });
    req.on('error', () => undefined);
    req.write(body.slice(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await t.admin.unloadVersion({ model: 'iris', version: 'v2' });
    await eventually(async () => (await t.admin.state({ model: 'iris' })).loaded.length === 1);
    expect((await call(`${t.url}/v2/health/ready`)).status).toBe(200);
    // A client giving up is not the version's error.
    const v2 = (await t.admin.metrics()).models.iris?.v2;
    expect(v2?.errors).toEqual({ inference: 0, non_finite: 0 });
    expect(v2?.pinned.errors).toEqual({ inference: 0, non_finite: 0 });
    expect(v2?.pinned.refused.client_closed).toBe(1);
  });
});
