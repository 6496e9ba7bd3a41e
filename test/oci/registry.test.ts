/**
 * The registry client against a real distribution registry (2.8, Debian's), where it differs
 * from the layout: authentication (HTTP Basic with htpasswd, and the Bearer token flow with a
 * token service), what 2.8 accepts and lacks (OCI 1.1 `artifactType` and `subject` kept byte for
 * byte; no referrers API, so the fallback tag index), tampered storage, error reports, upload
 * shapes and retries. Requests are counted by wrapping the real `fetch`, never answered by it.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachReferrer, pullArtifact, pushArtifact } from '../../oci/artifact.ts';
import { parseImageIndex, parseImageManifest } from '../../oci/descriptor.ts';
import { digestOf } from '../../oci/digest.ts';
import { OCI_INDEX } from '../../oci/media-types.ts';
import { referrersTag } from '../../oci/referrers-tag.ts';
import { openRegistryStore } from '../../oci/registry-client.ts';
import { freePort } from '../../worker/dev-server.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { leftovers, ociFailure, type Scratch, scratch } from './support.ts';

const BUNDLE = 'application/vnd.modelship.bundle.v1';
const EVIDENCE = 'application/vnd.modelship.evidence.v1';

/** The real `fetch`, with a log of the requests it made (method and path). */
function countingFetch(): { fetch: typeof fetch; log: string[] } {
  const log: string[] = [];
  const counted: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    log.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    return fetch(input, init);
  };
  return { fetch: counted, log };
}

describe('registry client with HTTP Basic (htpasswd)', () => {
  let registry: TestRegistry;
  let work: Scratch;
  const credentials = () => ({ username: registry.username, password: registry.password });

  beforeAll(async () => {
    [registry, work] = await Promise.all([startRegistry(), scratch()]);
  });
  afterAll(async () => {
    await registry.close();
    await work.remove();
  });

  it('refuses a wrong password and anonymous access with a clear error', async () => {
    const wrong = openRegistryStore({
      url: registry.url,
      credentials: { username: registry.username, password: 'x' },
    });
    const refused = await ociFailure(
      wrong.pushBlob('models/iris', { bytes: Buffer.from('x') }),
      'unauthorized',
    );
    expect(refused.status).toBe(401);
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain(`in repository models/iris at registry ${registry.url}`);
    expect(refused.message).toContain('as user modelship answered HTTP 401');

    const anonymous = openRegistryStore({ url: registry.url });
    const error = await ociFailure(anonymous.fetchManifest('models/iris', { tag: 'latest' }), 'unauthorized');
    expect(error.codes.map((entry) => entry.code)).toEqual(['UNAUTHORIZED']);
    expect(error.message).toMatch(
      /GET as anonymous answered HTTP 401: UNAUTHORIZED \(authentication required\)/,
    );
  });

  it('reports what the registry said: status, error codes, registry, repository and digest', async () => {
    const store = openRegistryStore({ url: registry.url, credentials: credentials() });
    const missing = digestOf(Buffer.from('missing'));
    const error = await ociFailure(store.fetchManifest('models/iris', { digest: missing }), 'not-found');
    expect(error.status).toBe(404);
    expect(error.codes.map((entry) => entry.code)).toEqual(['MANIFEST_UNKNOWN']);
    expect(error.message).toBe(
      `manifest ${missing} in repository models/iris at registry ${registry.url}: GET answered HTTP 404: ` +
        'MANIFEST_UNKNOWN (manifest unknown)',
    );
  });

  it('uploads a new blob once, in chunks when large, and never again', async () => {
    const counting = countingFetch();
    const store = openRegistryStore({
      url: registry.url,
      credentials: credentials(),
      chunkBytes: 1000,
      fetch: counting.fetch,
    });
    const path = await work.file('model.onnx', Buffer.alloc(3500, 9));
    const first = await store.pushBlob('models/chunked', { path });
    // The first HEAD goes anonymous and learns the challenge; then 3500 bytes in 1000-byte chunks.
    expect(counting.log.map((line) => line.split(' ')[0])).toEqual([
      'HEAD',
      'HEAD',
      'POST',
      'PATCH',
      'PATCH',
      'PATCH',
      'PATCH',
      'PUT',
    ]);
    expect(first).toEqual({ digest: digestOf(Buffer.alloc(3500, 9)), size: 3500 });

    counting.log.length = 0;
    await store.pushBlob('models/chunked', { path });
    expect(counting.log).toEqual([`HEAD /v2/models/chunked/blobs/${first.digest}`]);
  });

  it('keeps an OCI 1.1 artifact manifest (artifactType, subject) byte for byte', async () => {
    const store = openRegistryStore({ url: registry.url, credentials: credentials() });
    const file = await work.file('spec.yaml', 'model: iris\n');
    const subject = await pushArtifact(store, {
      repository: 'models/kept',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'spec.yaml' }],
    });
    const referrer = await attachReferrer(store, {
      repository: 'models/kept',
      artifactType: EVIDENCE,
      files: [{ path: file, name: 'spec.sigstore.json' }],
      subject,
    });
    const fetched = await store.fetchManifest('models/kept', { digest: referrer.digest });
    const manifest = parseImageManifest(fetched.bytes, 'referrer');
    expect(manifest.artifactType).toBe(EVIDENCE);
    expect(manifest.subject?.digest).toBe(subject.digest);
  });

  it('keeps referrers in the fallback tag index, distribution 2.8 having no referrers API', async () => {
    const store = openRegistryStore({ url: registry.url, credentials: credentials() });
    const file = await work.file('bom.cdx.json', '{}');
    const subject = await pushArtifact(store, {
      repository: 'models/fallback',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'bom.cdx.json' }],
    });
    const api = await fetch(`${registry.url}/v2/models/fallback/referrers/${subject.digest}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`,
      },
    });
    expect(api.status).toBe(404);
    expect(await api.text()).toBe('404 page not found\n');

    const referrers = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        attachReferrer(store, {
          repository: 'models/fallback',
          artifactType: EVIDENCE,
          files: [{ path: file, name: `${name}.sigstore.json` }],
          subject,
        }),
      ),
    );
    const tagged = await store.fetchManifest('models/fallback', { tag: referrersTag(subject.digest) });
    expect(tagged.descriptor.mediaType).toBe(OCI_INDEX);
    const index = parseImageIndex(tagged.bytes, 'fallback index');
    // Concurrent attachments in one process are serialised: none is lost.
    expect(index.manifests.map((entry) => entry.digest).sort()).toEqual(
      referrers.map((entry) => entry.digest).sort(),
    );
    expect(index.manifests.every((entry) => entry.artifactType === EVIDENCE)).toBe(true);
    expect((await store.listReferrers('models/fallback', subject.digest)).length).toBe(3);
  });

  it('refuses a blob the registry serves with other bytes than its digest', async () => {
    const store = openRegistryStore({ url: registry.url, credentials: credentials() });
    const model = await work.file('tampered.onnx', 'the real model');
    const bundle = await pushArtifact(store, {
      repository: 'models/tampered',
      artifactType: BUNDLE,
      files: [{ path: model, name: 'model.onnx' }],
    });
    const blob = digestOf(Buffer.from('the real model'));
    // Same length, other bytes: only the digest can tell.
    await writeFile(registry.blobDataPath(blob), 'the fake model');

    const target = join(work.dir, 'tampered.bin');
    const error = await ociFailure(
      store.fetchBlob('models/tampered', blob, target, { maxBytes: 100 }),
      'digest-mismatch',
    );
    expect(error.message).toContain(`blob ${blob} in repository models/tampered at registry ${registry.url}`);
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
    const pulled = join(work.dir, 'tampered-bundle');
    await ociFailure(
      pullArtifact(store, { repository: 'models/tampered', digest: bundle.digest, targetDir: pulled }),
      'digest-mismatch',
    );
    await expect(stat(pulled)).rejects.toThrow(/ENOENT/);
    expect(await leftovers(work.dir)).toEqual([]);
  });

  it('refuses a manifest the registry serves with other bytes than its digest', async () => {
    const store = openRegistryStore({ url: registry.url, credentials: credentials() });
    const file = await work.file('m.txt', 'm');
    const pushed = await pushArtifact(store, {
      repository: 'models/tampered-manifest',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'm.txt' }],
    });
    const path = registry.blobDataPath(pushed.digest);
    const original = await readFile(path, 'utf8');
    await writeFile(path, original.replace(BUNDLE, BUNDLE.replace('bundle', 'BUNDLE')));
    await ociFailure(
      store.fetchManifest('models/tampered-manifest', { digest: pushed.digest }),
      'digest-mismatch',
    );
  });

  it('calls an unreachable registry transient, after retrying reads', async () => {
    const counting = countingFetch();
    const store = openRegistryStore({
      url: `http://127.0.0.1:${await freePort()}`,
      credentials: credentials(),
      fetch: counting.fetch,
      retries: 2,
      backoffMs: 10,
    });
    const error = await ociFailure(store.hasBlob('models/iris', digestOf(Buffer.from('x'))), 'transient');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/HEAD failed: .*ECONNREFUSED/);
    expect(counting.log).toHaveLength(3);

    counting.log.length = 0;
    await ociFailure(store.pushBlob('models/iris', { bytes: Buffer.from('x') }), 'transient');
    // The HEAD before the upload is retried; no upload is sent to a registry that cannot answer.
    expect(counting.log.every((line) => line.startsWith('HEAD'))).toBe(true);
  });
});

describe('registry client with the Bearer token flow', () => {
  let registry: TestRegistry;
  let work: Scratch;

  beforeAll(async () => {
    [registry, work] = await Promise.all([startRegistry({ auth: 'token' }), scratch()]);
  });
  afterAll(async () => {
    await registry.close();
    await work.remove();
  });

  it('gets a token per scope with the caller credentials and pushes and pulls with it', async () => {
    const store = openRegistryStore({
      url: registry.url,
      credentials: { username: registry.username, password: registry.password },
    });
    const file = await work.file('model.onnx', 'weights');
    const bundle = await pushArtifact(store, {
      repository: 'models/tokens',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'model.onnx' }],
    });
    const target = join(work.dir, 'pulled');
    await pullArtifact(store, { repository: 'models/tokens', digest: bundle.digest, targetDir: target });
    expect(await readFile(join(target, 'model.onnx'), 'utf8')).toBe('weights');
    // One token per scope, reused until it expires.
    expect(registry.tokenServer?.requests).toEqual([
      { scope: 'repository:models/tokens:pull', granted: true },
      { scope: 'repository:models/tokens:pull,push', granted: true },
    ]);
  });

  it('refuses wrong credentials at the token service with a clear error', async () => {
    const store = openRegistryStore({
      url: registry.url,
      credentials: { username: registry.username, password: 'wrong' },
    });
    const error = await ociFailure(store.fetchManifest('models/tokens', { tag: 'latest' }), 'unauthorized');
    expect(error.message).toContain(`token service of registry ${registry.url}`);
    expect(error.message).toContain(
      'refused a token for repository:models/tokens:pull to user modelship: HTTP 401',
    );
  });
});
