/**
 * The `OciStore` promises, run against both back ends: the embedded OCI layout and a real
 * distribution registry (2.8, htpasswd authentication on). Whatever differs between them is in
 * `registry.test.ts` and `layout-store.test.ts`; what a caller may rely on is here.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachReferrer, pullArtifact, pushArtifact } from '../../oci/artifact.ts';
import { digestOf } from '../../oci/digest.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../../oci/media-types.ts';
import { openOciStore } from '../../oci/open.ts';
import type { OciStore } from '../../oci/store.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { leftovers, ociFailure, pushHandMadeManifest, type Scratch, scratch } from './support.ts';

const BUNDLE = 'application/vnd.modelship.bundle.v1';
const EVIDENCE = 'application/vnd.modelship.evidence.v1';
const MISSING = digestOf(Buffer.from('never pushed'));

interface Backend {
  name: string;
  open(work: Scratch): Promise<{ store: OciStore; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'OCI layout',
    open: async (work) => ({
      store: openOciStore({ kind: 'layout', root: join(work.dir, 'oci') }),
      close: async () => {},
    }),
  },
  {
    name: 'registry (distribution 2.8, htpasswd)',
    open: async () => {
      const registry: TestRegistry = await startRegistry();
      return {
        // Small chunks, so the model-sized file below is uploaded in several PATCHes.
        store: openOciStore({
          kind: 'registry',
          url: registry.url,
          credentials: { username: registry.username, password: registry.password },
          chunkBytes: 64 * 1024,
        }),
        close: () => registry.close(),
      };
    },
  },
];

describe.each(backends)('OciStore: $name', (backend) => {
  let work: Scratch;
  let store: OciStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    work = await scratch();
    ({ store, close } = await backend.open(work));
  });
  afterAll(async () => {
    await close();
    await work.remove();
  });

  it('pushes blobs from bytes and files, skips what it has, and fetches them verified', async () => {
    const fromBytes = await store.pushBlob('blobs/a', { bytes: Buffer.from('hello') });
    expect(fromBytes).toEqual({ digest: digestOf(Buffer.from('hello')), size: 5 });
    const path = await work.file('weights.bin', Buffer.alloc(200_000, 3));
    const fromFile = await store.pushBlob('blobs/a', { path });
    expect(fromFile.size).toBe(200_000);
    expect(await store.pushBlob('blobs/a', { path })).toEqual(fromFile);
    expect(await store.hasBlob('blobs/a', fromFile.digest)).toBe(true);
    expect(await store.hasBlob('blobs/a', MISSING)).toBe(false);

    const target = join(work.dir, 'fetched.bin');
    expect(await store.fetchBlob('blobs/a', fromFile.digest, target, { maxBytes: 1_000_000 })).toEqual(
      fromFile,
    );
    expect(digestOf(await readFile(target))).toBe(digestOf(Buffer.alloc(200_000, 3)));
  });

  it('refuses a push whose bytes are not the expected digest', async () => {
    const path = await work.file('other.bin', 'other bytes');
    await ociFailure(store.pushBlob('blobs/a', { path }, { expected: MISSING }), 'digest-mismatch');
    await ociFailure(
      store.pushBlob('blobs/a', { bytes: Buffer.from('x') }, { expected: MISSING }),
      'digest-mismatch',
    );
  });

  it('reports a missing blob as not-found and an over-size one as too-large, writing nothing', async () => {
    const target = join(work.dir, 'absent', 'x.bin');
    const missing = await ociFailure(
      store.fetchBlob('blobs/a', MISSING, target, { maxBytes: 100 }),
      'not-found',
    );
    expect(missing.message).toContain(MISSING);
    expect(missing.retryable).toBe(false);

    const big = await store.pushBlob('blobs/a', { bytes: Buffer.alloc(5000) });
    const capped = join(work.dir, 'capped.bin');
    const tooLarge = await ociFailure(
      store.fetchBlob('blobs/a', big.digest, capped, { maxBytes: 4999 }),
      'too-large',
    );
    expect(tooLarge.message).toContain('4999-byte limit');
    await expect(stat(capped)).rejects.toThrow(/ENOENT/);
    expect(await leftovers(work.dir)).toEqual([]);
  });

  it('stores manifests by digest and by tag, and moves a tag', async () => {
    const first = await pushHandMadeManifest(store, 'manifests/a', [{ content: 'one', title: 'one.txt' }]);
    const second = await pushHandMadeManifest(store, 'manifests/a', [{ content: 'two', title: 'two.txt' }]);
    for (const descriptor of [first, second]) {
      const fetched = await store.fetchManifest('manifests/a', { digest: descriptor.digest });
      expect(fetched.descriptor).toEqual({
        mediaType: OCI_MANIFEST,
        digest: descriptor.digest,
        size: descriptor.size,
      });
      expect(digestOf(fetched.bytes)).toBe(descriptor.digest);
    }
    const bytes = (await store.fetchManifest('manifests/a', { digest: first.digest })).bytes;
    await store.pushManifest('manifests/a', { mediaType: OCI_MANIFEST, bytes }, { tag: 'stable' });
    expect((await store.fetchManifest('manifests/a', { tag: 'stable' })).descriptor.digest).toBe(
      first.digest,
    );
    const moved = (await store.fetchManifest('manifests/a', { digest: second.digest })).bytes;
    await store.pushManifest('manifests/a', { mediaType: OCI_MANIFEST, bytes: moved }, { tag: 'stable' });
    expect((await store.fetchManifest('manifests/a', { tag: 'stable' })).descriptor.digest).toBe(
      second.digest,
    );

    await ociFailure(store.fetchManifest('manifests/a', { digest: MISSING }), 'not-found');
    await ociFailure(store.fetchManifest('manifests/a', { tag: 'nothing-here' }), 'not-found');
    await ociFailure(
      store.fetchManifest('manifests/a', { digest: first.digest }, { maxBytes: 100 }),
      'too-large',
    );
    await ociFailure(store.fetchManifest('manifests/a', { tag: '../etc' }), 'invalid');
  });

  it('refuses to store a manifest that is not an OCI manifest or index', async () => {
    await ociFailure(
      store.pushManifest('manifests/a', { mediaType: OCI_MANIFEST, bytes: Buffer.from('{"layers": 3}') }),
      'invalid',
    );
    await ociFailure(
      store.pushManifest('manifests/a', { mediaType: 'text/plain', bytes: Buffer.from('{}') }),
      'invalid',
    );
  });

  it('pushes a bundle as an artifact and pulls it back, verified, into a new directory', async () => {
    const model = await work.file('model.onnx', Buffer.alloc(300_000, 7));
    const spec = await work.file('spec.yaml', 'model: iris\n');
    const bundle = await pushArtifact(store, {
      repository: 'models/iris',
      artifactType: BUNDLE,
      files: [
        { path: model, name: 'model.onnx', mediaType: 'application/vnd.onnx' },
        { path: spec, name: 'spec.yaml', mediaType: 'application/yaml' },
      ],
      annotations: { 'org.opencontainers.image.revision': 'abc123' },
    });
    expect(bundle).toMatchObject({ mediaType: OCI_MANIFEST, artifactType: BUNDLE });

    const target = join(work.dir, 'pulled', 'iris');
    const pulled = await pullArtifact(store, {
      repository: 'models/iris',
      digest: bundle.digest,
      targetDir: target,
      expectArtifactType: BUNDLE,
    });
    expect(pulled.artifactType).toBe(BUNDLE);
    expect(pulled.annotations).toEqual({ 'org.opencontainers.image.revision': 'abc123' });
    expect(pulled.files.map((file) => [file.name, file.size, file.mediaType])).toEqual([
      ['model.onnx', 300_000, 'application/vnd.onnx'],
      ['spec.yaml', 12, 'application/yaml'],
    ]);
    expect((await readdir(target)).sort()).toEqual(['model.onnx', 'spec.yaml']);
    expect(digestOf(await readFile(join(target, 'model.onnx')))).toBe(digestOf(Buffer.alloc(300_000, 7)));

    // Pushing the same files again names the same manifest.
    const again = await pushArtifact(store, {
      repository: 'models/iris',
      artifactType: BUNDLE,
      files: [
        { path: model, name: 'model.onnx', mediaType: 'application/vnd.onnx' },
        { path: spec, name: 'spec.yaml', mediaType: 'application/yaml' },
      ],
      annotations: { 'org.opencontainers.image.revision': 'abc123' },
    });
    expect(again.digest).toBe(bundle.digest);

    await ociFailure(
      pullArtifact(store, { repository: 'models/iris', digest: bundle.digest, targetDir: target }),
      'refused',
    );
    const wrongType = join(work.dir, 'pulled', 'wrong-type');
    const error = await ociFailure(
      pullArtifact(store, {
        repository: 'models/iris',
        digest: bundle.digest,
        targetDir: wrongType,
        expectArtifactType: EVIDENCE,
      }),
      'invalid',
    );
    expect(error.message).toContain(`of type ${BUNDLE}, not ${EVIDENCE}`);
    await expect(stat(wrongType)).rejects.toThrow(/ENOENT/);
  });

  it('lists the referrers of a manifest, filtered by artifact type', async () => {
    const file = await work.file('bom.cdx.json', '{"bomFormat":"CycloneDX"}');
    const subject = await pushArtifact(store, {
      repository: 'models/referred',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'bom.cdx.json' }],
    });
    expect(await store.listReferrers('models/referred', subject.digest)).toEqual([]);
    const signature = await attachReferrer(store, {
      repository: 'models/referred',
      artifactType: EVIDENCE,
      files: [{ path: file, name: 'bom.sigstore.json' }],
      subject,
      annotations: { 'dev.modelship.evidence': 'bom' },
    });
    const other = await attachReferrer(store, {
      repository: 'models/referred',
      artifactType: 'application/vnd.example.note',
      files: [{ path: file, name: 'note.json' }],
      subject,
    });
    // Attaching the same referrer twice lists it once.
    await attachReferrer(store, {
      repository: 'models/referred',
      artifactType: EVIDENCE,
      files: [{ path: file, name: 'bom.sigstore.json' }],
      subject,
      annotations: { 'dev.modelship.evidence': 'bom' },
    });

    const all = await store.listReferrers('models/referred', subject.digest);
    expect(all.map((entry) => entry.digest).sort()).toEqual([signature.digest, other.digest].sort());
    expect(all.find((entry) => entry.digest === signature.digest)).toEqual({
      mediaType: OCI_MANIFEST,
      digest: signature.digest,
      size: signature.size,
      artifactType: EVIDENCE,
      annotations: { 'dev.modelship.evidence': 'bom' },
    });
    const evidence = await store.listReferrers('models/referred', subject.digest, { artifactType: EVIDENCE });
    expect(evidence.map((entry) => entry.digest)).toEqual([signature.digest]);
    expect(await store.listReferrers('models/referred', signature.digest)).toEqual([]);
  });

  it('refuses to pull an index as an artifact', async () => {
    const member = await pushHandMadeManifest(store, 'models/indexed', [{ content: 'm', title: 'm.txt' }]);
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [member] }),
    );
    const pushed = await store.pushManifest('models/indexed', { mediaType: OCI_INDEX, bytes: index });
    const error = await ociFailure(
      pullArtifact(store, {
        repository: 'models/indexed',
        digest: pushed.digest,
        targetDir: join(work.dir, 'idx'),
      }),
      'invalid',
    );
    expect(error.message).toContain('not an OCI image manifest');
  });

  describe('hostile artifacts are refused before a file is written', () => {
    const cases: {
      name: string;
      layers: { content: string; title?: string; declaredSize?: number }[];
      why: RegExp;
    }[] = [
      {
        name: 'a parent-directory title',
        layers: [{ content: 'x', title: '../escape.txt' }],
        why: /path separator/,
      },
      { name: 'a bare ..', layers: [{ content: 'x', title: '..' }], why: /directory reference/ },
      {
        name: 'an absolute title',
        layers: [{ content: 'x', title: '/etc/cron.d/evil' }],
        why: /path separator/,
      },
      { name: 'a nested title', layers: [{ content: 'x', title: 'sub/model.onnx' }], why: /path separator/ },
      { name: 'a backslash title', layers: [{ content: 'x', title: '..\\evil' }], why: /path separator/ },
      { name: 'an empty title', layers: [{ content: 'x', title: '' }], why: /is empty/ },
      { name: 'no title', layers: [{ content: 'x' }], why: /has no org\.opencontainers\.image\.title/ },
      {
        name: 'duplicate titles',
        layers: [
          { content: 'first', title: 'model.onnx' },
          { content: 'second', title: 'model.onnx' },
        ],
        why: /appears twice/,
      },
    ];

    it.each(cases)('$name', async ({ layers, why }) => {
      const hostile = await pushHandMadeManifest(store, 'models/hostile', layers);
      const parent = join(work.dir, 'hostile-pulls');
      const error = await ociFailure(
        pullArtifact(store, {
          repository: 'models/hostile',
          digest: hostile.digest,
          targetDir: join(parent, 'x'),
        }),
        'invalid',
      );
      expect(error.message).toMatch(why);
      expect(await readdir(parent).catch(() => [])).toEqual([]);
    });
  });

  it('refuses over-size artifacts: too many bytes, a lying layer size, a large manifest', async () => {
    const parent = join(work.dir, 'size-pulls');
    const big = await pushHandMadeManifest(store, 'models/sizes', [
      { content: 'x'.repeat(2000), title: 'big.bin' },
    ]);
    const perFile = await ociFailure(
      pullArtifact(store, {
        repository: 'models/sizes',
        digest: big.digest,
        targetDir: join(parent, 'a'),
        limits: { maxFileBytes: 1000 },
      }),
      'too-large',
    );
    expect(perFile.message).toContain('big.bin is 2000 bytes, over the 1000-byte limit');

    // The manifest says 3 bytes; the blob behind the digest has 2000: refused at the fourth byte.
    const lying = await pushHandMadeManifest(store, 'models/sizes', [
      { content: 'x'.repeat(2000), title: 'small.bin', declaredSize: 3 },
    ]);
    await ociFailure(
      pullArtifact(store, { repository: 'models/sizes', digest: lying.digest, targetDir: join(parent, 'b') }),
      'too-large',
    );

    const padded = await pushHandMadeManifest(store, 'models/sizes', [{ content: 'y', title: 'y.txt' }], {
      annotations: { padding: 'p'.repeat(10_000) },
    });
    const manifestError = await ociFailure(
      pullArtifact(store, {
        repository: 'models/sizes',
        digest: padded.digest,
        targetDir: join(parent, 'c'),
        limits: { maxManifestBytes: 4096 },
      }),
      'too-large',
    );
    expect(manifestError.message).toContain('4096-byte limit');
    expect(await readdir(parent).catch(() => [])).toEqual([]);
  });

  it('refuses repository names outside the distribution grammar', async () => {
    for (const name of ['../escape', 'Models/iris', 'models//iris', 'models/iris/', '.hidden', 'a/../b']) {
      await ociFailure(store.pushBlob(name, { bytes: Buffer.from('x') }), 'invalid');
    }
  });

  it('describes itself', () => {
    expect(store.describe()).toMatch(
      /^(OCI layout \/.+|registry http:\/\/127\.0\.0\.1:\d+ \(user modelship\))$/,
    );
  });
});
