/**
 * The admin API loads bundles only from inside its bundle root, and reads only files inside the
 * bundle: `..`, absolute paths elsewhere and symlinks pointing out are refused, and no message
 * quotes or hashes a file outside. The "secret" is a file outside the root whose content, and
 * whose sha256, must never appear in an answer.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeBundle, scratchDir, startTestServer, type TestServer, TOKEN } from './support.ts';

const SECRET = 'TOP-SECRET-CONTENT: do not quote me';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('bundle root', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let root: string;
  let outside: string;
  let secretFile: string;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    root = join(dir.path, 'bundles');
    outside = join(dir.path, 'elsewhere');
    await mkdir(root, { recursive: true });
    await mkdir(outside, { recursive: true });
    secretFile = join(outside, 'secret.txt');
    await writeFile(secretFile, SECRET);
    await makeBundle({ root, version: 'v1' });
    await makeBundle({ root: outside, version: 'v2' });
    t = await startTestServer({ bundleRoots: [root] });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  const load = (version: string, bundlePath: string) =>
    call(`${t.url}/admin/v1/models/iris/versions`, { body: { version, bundlePath }, headers: auth });
  const secretHash = () => createHash('sha256').update(SECRET).digest('hex');
  const expectNoLeak = (text: string) => {
    expect(text).not.toContain('TOP-SECRET');
    expect(text).not.toContain(secretHash());
  };

  it('loads a bundle inside the root, by absolute or relative path', async () => {
    expect((await load('v1', join(root, 'iris-v1'))).status).toBe(201);
    expect((await load('v1-again', 'iris-v1')).status).toBe(201);
  });

  it.each([
    ['a relative path climbing out with ..', () => '../elsewhere/iris-v2'],
    ['an absolute path elsewhere', () => join(outside, 'iris-v2')],
    ['a path through the root that climbs back out', () => join(root, '..', 'elsewhere', 'iris-v2')],
    ['the root of the file system', () => '/'],
  ])('refuses %s with 403', async (_, path) => {
    const reply = await load('v2', path());
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({
      error: expect.stringMatching(new RegExp(`^bundlePath .* is outside the bundle root \\(${root}\\)$`)),
    });
  });

  it('refuses a symlink in the root that points out, with 403', async () => {
    await symlink(join(outside, 'iris-v2'), join(root, 'link-out'));
    const reply = await load('v2', 'link-out');
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({
      error: expect.stringMatching(/^bundlePath link-out is outside the bundle root/),
    });
  });

  it.each(['manifest.json', 'spec.yaml', 'model.onnx'])(
    'refuses a bundle whose %s links outside, quoting and hashing nothing of it',
    async (file) => {
      const bundle = await makeBundle({ root: join(root, `linked-${file}`), version: 'v1' });
      await rm(join(bundle, file));
      await symlink(secretFile, join(bundle, file));
      const reply = await load('linked', bundle);
      expect(reply.status).toBe(422);
      expect(reply.body).toEqual({
        error: `bundle file ${file} is a link to outside the bundle directory ${bundle}`,
      });
      expectNoLeak(reply.text);
    },
  );

  it('does not quote a manifest that is not JSON', async () => {
    const bundle = await makeBundle({ root: join(root, 'garbage-manifest'), version: 'v1' });
    await writeFile(join(bundle, 'manifest.json'), SECRET);
    const reply = await load('garbage', bundle);
    expect(reply).toMatchObject({
      status: 422,
      body: { error: `${join(bundle, 'manifest.json')} is not valid JSON` },
    });
    expectNoLeak(reply.text);
  });

  it('refuses a missing directory and a NUL in the path with 422, and left nothing loaded', async () => {
    expect(await load('v3', 'no-such-bundle')).toMatchObject({
      status: 422,
      body: { error: expect.stringMatching(/^no bundle directory at no-such-bundle in the bundle root/) },
    });
    expect((await load('v3', 'iris-v1\0x')).status).toBe(422);
    const state = await t.admin.state({ model: 'iris' });
    expect(state.loaded.map((entry) => entry.version)).toEqual(['v1', 'v1-again']);
    // The secret is where it was, unread by anything above.
    expect(await readFile(secretFile, 'utf8')).toBe(SECRET);
  });
});
