/** Traffic splitting as a client sees it: canary share, sticky route keys, the pin header. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, irisRequest, makeBundle, scratchDir, startTestServer, type TestServer } from './support.ts';

const BODY = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

/** Sends `count` requests over `concurrency` connections; returns how often each version answered. */
async function shares(
  t: TestServer,
  count: number,
  headers: (i: number) => Record<string, string> = () => ({}),
  concurrency = 8,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next;
      next += 1;
      const reply = await infer(t.url, 'iris', BODY, headers(i));
      expect(reply.status).toBe(200);
      const version = reply.headers.get('x-modelship-version') ?? '(none)';
      counts.set(version, (counts.get(version) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

describe('routing', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
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

  it('sends everything to stable without a canary', async () => {
    expect(await shares(t, 200)).toEqual(new Map([['v1', 200]]));
  });

  it('gives a 30 % canary its share of 2,000 requests', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 30 });
    const counts = await shares(t, 2000);
    expect((counts.get('v1') ?? 0) + (counts.get('v2') ?? 0)).toBe(2000);
    // The unkeyed split is equidistributed (routing.ts), so it lands within a point of 30 %.
    expect(Math.abs((counts.get('v2') ?? 0) / 2000 - 0.3)).toBeLessThan(0.01);
  });

  it('keeps a route key on one version, and spreads many keys by the weight', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 30 });
    for (const key of ['alice', 'bob', 'carol', 'dave']) {
      const counts = await shares(t, 40, () => ({ 'x-modelship-route-key': key }), 4);
      expect(counts.size, `key ${key} saw ${[...counts.keys()].join(' and ')}`).toBe(1);
    }
    const spread = await shares(t, 2000, (i) => ({ 'x-modelship-route-key': `user-${i}` }));
    // Distinct keys hash independently: a binomial share, 3 standard deviations is about 3 points.
    expect(Math.abs((spread.get('v2') ?? 0) / 2000 - 0.3)).toBeLessThan(0.035);
  });

  it('moves a key that is on the canary at 10 % nowhere when the weight grows', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 10 });
    const keys = Array.from({ length: 200 }, (_, i) => `session-${i}`);
    const at10 = await Promise.all(
      keys.map(async (key) =>
        (await infer(t.url, 'iris', BODY, { 'x-modelship-route-key': key })).headers.get(
          'x-modelship-version',
        ),
      ),
    );
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 50 });
    const at50 = await Promise.all(
      keys.map(async (key) =>
        (await infer(t.url, 'iris', BODY, { 'x-modelship-route-key': key })).headers.get(
          'x-modelship-version',
        ),
      ),
    );
    const canaryAt10 = keys.filter((_, i) => at10[i] === 'v2');
    expect(canaryAt10.length).toBeGreaterThan(5);
    expect(canaryAt10.every((key) => at50[keys.indexOf(key)] === 'v2')).toBe(true);
  });

  it('pins a version with x-modelship-version, whatever the weights', async () => {
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 0 });
    expect(await shares(t, 100, () => ({ 'x-modelship-version': 'v2' }))).toEqual(new Map([['v2', 100]]));
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 100 });
    expect(await shares(t, 100)).toEqual(new Map([['v2', 100]]));
    expect(await shares(t, 100, () => ({ 'x-modelship-version': 'v1' }))).toEqual(new Map([['v1', 100]]));
  });
});
