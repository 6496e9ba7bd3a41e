/** The admin API's token: required to start, checked on every call, never needed for /metrics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApiError, createAdminClient } from '../../serving/admin-client.ts';
import { ServingConfigError, startServingServer } from '../../serving/server.ts';
import { call, makeBundle, scratchDir, startTestServer, type TestServer, TOKEN } from './support.ts';

describe('starting without an admin token', () => {
  it('is refused unless insecure admin mode is asked for explicitly', async () => {
    await expect(startServingServer({})).rejects.toThrow(ServingConfigError);
    await expect(startServingServer({ insecureAdmin: false })).rejects.toThrow(
      /refusing to start: the admin API needs a bearer token .*--insecure-admin/,
    );
    await expect(startServingServer({ adminToken: '' })).rejects.toThrow(/must be non-empty/);
  });

  it('runs an open admin API in insecure mode', async () => {
    const server = await startServingServer({ insecureAdmin: true });
    try {
      expect((await call(`${server.url}/admin/v1/models`)).body).toEqual({ models: [] });
    } finally {
      await server.close();
    }
  });
});

describe('admin authentication', () => {
  let t: TestServer;
  let dir: Awaited<ReturnType<typeof scratchDir>>;

  beforeAll(async () => {
    dir = await scratchDir();
    // A token given together with insecureAdmin still counts: the safer setting wins.
    t = await startTestServer({ insecureAdmin: true });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  const paths: [string, string, unknown?][] = [
    ['GET', '/admin/v1/models'],
    ['GET', '/admin/v1/models/iris'],
    ['GET', '/admin/v1/metrics'],
    ['POST', '/admin/v1/models/iris/versions', { version: 'v1', bundlePath: '/nowhere' }],
    ['PUT', '/admin/v1/models/iris/canary', { version: 'v2', weight: 10 }],
    ['POST', '/admin/v1/models/iris/rollback', {}],
    ['DELETE', '/admin/v1/models/iris/versions/v1'],
  ];

  it.each(paths)('%s %s needs the token', async (method, path, body) => {
    const none = await call(`${t.url}${path}`, { method, body });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: 'the admin API needs "Authorization: Bearer <token>"' });
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="modelship-admin"');

    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      'Bearer',
      TOKEN,
    ]) {
      const wrong = await call(`${t.url}${path}`, { method, body, headers: { authorization } });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.body).toEqual({ error: 'the admin token is not valid' });
    }
  });

  it('lets the right token through, case-insensitive scheme included', async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      expect((await call(`${t.url}/admin/v1/models`, { headers: { authorization } })).status).toBe(200);
    }
  });

  it('turns a refusal into an AdminApiError carrying status and message', async () => {
    const wrong = createAdminClient({ baseUrl: t.url, token: 'guess' });
    const error = await wrong.models().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AdminApiError);
    expect(error).toMatchObject({ status: 401, serverMessage: 'the admin token is not valid' });
    const unreachable = createAdminClient({ baseUrl: 'http://127.0.0.1:9', token: TOKEN, timeoutMs: 2000 });
    await expect(unreachable.models()).rejects.toMatchObject({ status: 0 });
  });

  it('serves /metrics and the inference API without a token', async () => {
    const bundlePath = await makeBundle({ root: dir.path, version: 'v1' });
    await t.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath });
    expect((await call(`${t.url}/metrics`)).status).toBe(200);
    expect((await call(`${t.url}/v2/models/iris`)).status).toBe(200);
  });
});
