/** Loading, routing changes, promotion, rollback and unloading through the admin API. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RoutingState } from '../../serving/admin-client.ts';
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
const versionsOf = (state: RoutingState) => state.loaded.map(({ version, state: s }) => `${version}:${s}`);

describe('admin lifecycle', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const bundles: Record<string, string> = {};
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    for (const version of ['v1', 'v2', 'bad-disagree'])
      bundles[version] = await makeBundle({ root: dir.path, version });
    return () => dir.remove();
  });
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.close();
  });

  const load = (version: string, bundlePath = bundles[version] ?? '') =>
    call(`${t.url}/admin/v1/models/iris/versions`, { body: { version, bundlePath }, headers: auth });
  const loadAll = async () => {
    for (const version of ['v1', 'v2', 'bad-disagree'])
      await t.admin.loadVersion({ model: 'iris', version, bundlePath: bundles[version] ?? '' });
  };

  it('makes the first version stable at 100 % once it is warm, and the next ones only loaded', async () => {
    const first = await load('v1');
    expect(first.status).toBe(201);
    const state = first.body as RoutingState;
    expect(state).toMatchObject({ model: 'iris', stable: { version: 'v1' }, canary: null, shadow: null });
    expect(state.stable?.bundleDigest).toMatch(/^[a-f0-9]{64}$/);
    expect(versionsOf(state)).toEqual(['v1:ready']);
    const second = (await load('v2')).body as RoutingState;
    expect(second.stable?.version).toBe('v1');
    expect(versionsOf(second)).toEqual(['v1:ready', 'v2:ready']);
    expect(second.generation).toBeGreaterThan(state.generation);
    expect(await t.admin.models()).toEqual([second]);
  });

  it('is idempotent per digest: the same bundle again is 200, another bundle under that name 409', async () => {
    await load('v1');
    const again = await load('v1');
    expect(again.status).toBe(200);
    expect(versionsOf(again.body as RoutingState)).toEqual(['v1:ready']);
    const concurrent = await Promise.all([load('v2'), load('v2'), load('v2')]);
    expect(concurrent.map((reply) => reply.status).sort()).toEqual([200, 200, 201]);
    const other = await load('v1', bundles.v2);
    expect(other.status).toBe(409);
    expect(other.body).toEqual({
      error: expect.stringMatching(
        /version "v1" of "iris" is already loaded from bundle [a-f0-9]{64}; load bundle [a-f0-9]{64} under another version name/,
      ),
    });
  });

  it('refuses unusable bundles with 422 and says why', async () => {
    const missing = await load('v1', join(dir.path, 'no-such-bundle'));
    expect(missing).toMatchObject({
      status: 422,
      body: { error: expect.stringMatching(/no bundle directory at .*no-such-bundle/) },
    });

    const other = await makeBundle({ root: dir.path, version: 'v1', model: 'tulip' });
    expect(await load('v1', other)).toMatchObject({
      status: 422,
      body: { error: expect.stringMatching(/holds model "tulip" \(metadata.name of its spec\), not "iris"/) },
    });

    const tampered = await makeBundle({ root: join(dir.path, 'tampered'), version: 'v1' });
    await writeFile(join(tampered, 'model.onnx'), await readFile(join(bundles.v2 ?? '', 'model.onnx')));
    expect(await load('v1', tampered)).toMatchObject({
      status: 422,
      body: {
        error: expect.stringMatching(/model\.onnx has sha256 .* the bundle was changed after packaging/),
      },
    });

    const garbage = await makeBundle({
      root: dir.path,
      version: 'garbage',
      onnx: new TextEncoder().encode('not a model'),
    });
    expect(await load('garbage', garbage)).toMatchObject({
      status: 422,
      body: { error: expect.stringMatching(/onnxruntime cannot load model "iris" version "garbage"/) },
    });
    // None of the failures left a model behind.
    expect(await t.admin.models()).toEqual([]);
  });

  it('validates bodies and names with zod, reporting each field', async () => {
    const bad = async (path: string, method: string, body: unknown) =>
      (await call(`${t.url}/admin/v1/models/${path}`, { method, body, headers: auth })).body;
    expect(await bad('iris/versions', 'POST', { version: 'v1' })).toEqual({
      error: expect.stringMatching(/^invalid request body: bundlePath: /),
    });
    expect(await bad('iris/versions', 'POST', { version: 'v 1', bundlePath: 'x', extra: 1 })).toEqual({
      error: expect.stringMatching(/version: must be 1-128 characters.*; body: Unrecognized key: "extra"/),
    });
    expect(await bad('Iris/versions', 'POST', { version: 'v1', bundlePath: 'x' })).toEqual({
      error: expect.stringMatching(/model name "Iris" must be a DNS label/),
    });
    await load('v1');
    expect(await bad('iris/canary', 'PUT', { version: 'v2', weight: 150 })).toEqual({
      error: 'invalid request body: weight: must be from 0 to 100 (percent)',
    });
    expect(await bad('iris/promote', 'POST', '{"version":')).toEqual({
      error: expect.stringMatching(/^request body is not valid JSON/),
    });
    expect(
      (await call(`${t.url}/admin/v1/models/iris/canary`, { method: 'POST', body: {}, headers: auth }))
        .status,
    ).toBe(405);
    expect((await call(`${t.url}/admin/v1/models/tulip`, { headers: auth })).status).toBe(404);
  });

  it('sets and clears canary and shadow, refusing the stable version and unknown ones', async () => {
    await loadAll();
    const canary = await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 30 });
    expect(canary.canary).toEqual({ version: 'v2', weight: 30 });
    // The same weight twice changes nothing, not even the generation.
    expect((await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 30 })).generation).toBe(
      canary.generation,
    );
    const shadow = await t.admin.setShadow({ model: 'iris', version: 'bad-disagree' });
    expect(shadow.shadow).toEqual({ version: 'bad-disagree' });
    await expect(t.admin.setCanary({ model: 'iris', version: 'v1', weight: 5 })).rejects.toMatchObject({
      status: 409,
      serverMessage: 'version "v1" is the stable version of "iris"',
    });
    await expect(t.admin.setShadow({ model: 'iris', version: 'v7' })).rejects.toMatchObject({
      status: 404,
      serverMessage: 'model "iris" has no version "v7" loaded (loaded: v1, v2, bad-disagree)',
    });
    expect((await t.admin.clearCanary({ model: 'iris' })).canary).toBeNull();
    const cleared = await t.admin.clearShadow({ model: 'iris' });
    expect(cleared.shadow).toBeNull();
    expect((await t.admin.clearShadow({ model: 'iris' })).generation).toBe(cleared.generation);
    expect(versionsOf(cleared)).toEqual(['v1:ready', 'v2:ready', 'bad-disagree:ready']);
  });

  it('promotes: the candidate takes 100 %, canary and shadow are cleared, the old stable stays warm', async () => {
    await loadAll();
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 50 });
    await t.admin.setShadow({ model: 'iris', version: 'bad-disagree' });
    const promoted = await t.admin.promote({ model: 'iris', version: 'v2' });
    expect(promoted).toMatchObject({ stable: { version: 'v2' }, canary: null, shadow: null });
    expect(versionsOf(promoted)).toEqual(['v1:ready', 'v2:ready', 'bad-disagree:ready']);
    expect((await t.admin.promote({ model: 'iris', version: 'v2' })).generation).toBe(promoted.generation);
    const answered = await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    expect(answered.headers.get('x-modelship-version')).toBe('v2');
  });

  it('rolls back a canary in progress: stable stays, the candidate drains and is unloaded', async () => {
    await loadAll();
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 50 });
    await t.admin.setShadow({ model: 'iris', version: 'bad-disagree' });
    const state = await t.admin.rollback({ model: 'iris', reason: 'error rate 3 % over the 1 % limit' });
    expect(state).toMatchObject({ stable: { version: 'v1' }, canary: null, shadow: null });
    expect(versionsOf(state)).toEqual(['v1:ready']);
    // A second rollback has nothing left to do.
    expect((await t.admin.rollback({ model: 'iris' })).generation).toBe(state.generation);
  });

  it('rolls back a promotion to the previous stable, unloading the promoted version', async () => {
    await loadAll();
    await t.admin.promote({ model: 'iris', version: 'v2' });
    const state = await t.admin.rollback({ model: 'iris' });
    expect(state).toMatchObject({ stable: { version: 'v1' }, canary: null, shadow: null });
    expect(versionsOf(state)).toEqual(['v1:ready', 'bad-disagree:ready']);
    expect(
      (await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).headers.get('x-modelship-version'),
    ).toBe('v1');
  });

  it('rolls back to an explicit version, which must be loaded and ready', async () => {
    await loadAll();
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 10 });
    const state = await t.admin.rollback({ model: 'iris', toVersion: 'bad-disagree' });
    expect(state.stable?.version).toBe('bad-disagree');
    expect(versionsOf(state)).toEqual(['bad-disagree:ready']);
    await expect(t.admin.rollback({ model: 'iris', toVersion: 'v1' })).rejects.toMatchObject({ status: 404 });
  });

  it('unloads a version no traffic goes to, and refuses a routed one', async () => {
    await loadAll();
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 10 });
    await expect(t.admin.unloadVersion({ model: 'iris', version: 'v2' })).rejects.toMatchObject({
      status: 409,
      serverMessage: 'version "v2" of "iris" is routed (canary); change the routing first',
    });
    await expect(t.admin.unloadVersion({ model: 'iris', version: 'v1' })).rejects.toMatchObject({
      status: 409,
    });
    const state = await t.admin.unloadVersion({ model: 'iris', version: 'bad-disagree' });
    expect(versionsOf(state)).toEqual(['v1:ready', 'v2:ready']);
    await expect(t.admin.unloadVersion({ model: 'iris', version: 'bad-disagree' })).rejects.toMatchObject({
      status: 404,
    });
    // Unloaded versions can be loaded again.
    await eventually(async () => (await load('bad-disagree')).status === 201);
  });
});
