/**
 * The embedded store where it differs from a registry: the OCI image layout on disk (one per
 * repository), atomic writes (no partial blob or index under its final name), concurrent pushes
 * in one process, and a tampered blob refused on read.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pullArtifact, pushArtifact } from '../../oci/artifact.ts';
import { parseImageIndex } from '../../oci/descriptor.ts';
import { digestOf } from '../../oci/digest.ts';
import { layoutDirectory, openLayoutStore } from '../../oci/layout-store.ts';
import { ANNOTATION_REF_NAME, OCI_INDEX, OCI_MANIFEST } from '../../oci/media-types.ts';
import { ociFailure, pushHandMadeManifest, type Scratch, scratch } from './support.ts';

const BUNDLE = 'application/vnd.modelship.bundle.v1';

describe('OCI layout store', () => {
  let work: Scratch;
  let root: string;

  beforeEach(async () => {
    work = await scratch();
    root = join(work.dir, 'oci');
  });
  afterEach(() => work.remove());

  it('writes one standard OCI image layout per repository, flat under the root', async () => {
    const store = openLayoutStore({ root });
    const file = await work.file('model.onnx', 'weights');
    const pushed = await pushArtifact(store, {
      repository: 'models/iris',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'model.onnx' }],
      tag: 'v1',
    });
    await store.pushBlob('models', { bytes: Buffer.from('a repository that is a prefix of another') });

    expect((await readdir(root)).sort()).toEqual(['.tmp', 'models', 'models+iris']);
    const dir = layoutDirectory(root, 'models/iris');
    expect(dir).toBe(join(root, 'models+iris'));
    expect((await readdir(dir)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const index = parseImageIndex(await readFile(join(dir, 'index.json')), 'index.json');
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests).toEqual([
      {
        mediaType: OCI_MANIFEST,
        digest: pushed.digest,
        size: pushed.size,
        artifactType: BUNDLE,
        annotations: { [ANNOTATION_REF_NAME]: 'v1' },
      },
    ]);
    // Blobs: the empty config, the model, the manifest; each file named by its own digest.
    const blobs = await readdir(join(dir, 'blobs', 'sha256'));
    expect(blobs).toHaveLength(3);
    for (const hex of blobs) {
      expect(digestOf(await readFile(join(dir, 'blobs', 'sha256', hex)))).toBe(`sha256:${hex}`);
    }
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('keeps a manifest listed when its tag moves on, so its referrers stay findable', async () => {
    const store = openLayoutStore({ root });
    const first = await pushHandMadeManifest(store, 'models/iris', [{ content: '1', title: 'a' }]);
    const second = await pushHandMadeManifest(store, 'models/iris', [{ content: '2', title: 'a' }]);
    const bytes = async (digest: typeof first.digest) =>
      (await store.fetchManifest('models/iris', { digest })).bytes;
    await store.pushManifest(
      'models/iris',
      { mediaType: OCI_MANIFEST, bytes: await bytes(first.digest) },
      { tag: 'v' },
    );
    await store.pushManifest(
      'models/iris',
      { mediaType: OCI_MANIFEST, bytes: await bytes(second.digest) },
      { tag: 'v' },
    );
    const index = parseImageIndex(
      await readFile(join(layoutDirectory(root, 'models/iris'), 'index.json')),
      'index.json',
    );
    expect(index.manifests.map((entry) => [entry.digest, entry.annotations?.[ANNOTATION_REF_NAME]])).toEqual([
      [first.digest, undefined],
      [second.digest, 'v'],
    ]);
  });

  it('refuses a blob or manifest whose file was tampered with', async () => {
    const store = openLayoutStore({ root });
    const file = await work.file('model.onnx', 'the real model');
    const pushed = await pushArtifact(store, {
      repository: 'models/iris',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'model.onnx' }],
    });
    const blobs = join(layoutDirectory(root, 'models/iris'), 'blobs', 'sha256');
    const model = digestOf(Buffer.from('the real model'));
    await writeFile(join(blobs, model.slice('sha256:'.length)), 'the fake model');
    const error = await ociFailure(
      pullArtifact(store, {
        repository: 'models/iris',
        digest: pushed.digest,
        targetDir: join(work.dir, 'out'),
      }),
      'digest-mismatch',
    );
    expect(error.message).toContain(`blob ${model} of repository models/iris in OCI layout ${root}`);
    expect(await readdir(work.dir)).not.toContain('out');

    const manifestPath = join(blobs, pushed.digest.slice('sha256:'.length));
    await writeFile(manifestPath, (await readFile(manifestPath, 'utf8')).replace('model.onnx', 'model.onnX'));
    await ociFailure(store.fetchManifest('models/iris', { digest: pushed.digest }), 'digest-mismatch');
    await ociFailure(store.listReferrers('models/iris', pushed.digest), 'digest-mismatch');
  });

  it('loses no index entry under concurrent pushes, from one store or two on the same root', async () => {
    const one = openLayoutStore({ root });
    const two = openLayoutStore({ root });
    const pushes = Array.from({ length: 24 }, (_, n) =>
      pushHandMadeManifest(n % 2 ? one : two, 'models/busy', [{ content: `file ${n}`, title: 'f.txt' }]),
    );
    const pushed = await Promise.all(pushes);
    const index = parseImageIndex(
      await readFile(join(layoutDirectory(root, 'models/busy'), 'index.json')),
      'index.json',
    );
    expect(index.manifests.map((entry) => entry.digest).sort()).toEqual(
      pushed.map((entry) => entry.digest).sort(),
    );
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('leaves no temporary file behind when a push is refused', async () => {
    const store = openLayoutStore({ root });
    const file = await work.file('x.bin', 'x');
    await store.pushBlob('models/iris', { bytes: Buffer.from('warm up') });
    await ociFailure(
      store.pushBlob('models/iris', { path: file }, { expected: digestOf(Buffer.from('y')) }),
      'digest-mismatch',
    );
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    expect(await store.hasBlob('models/iris', digestOf(Buffer.from('x')))).toBe(false);
  });
});
