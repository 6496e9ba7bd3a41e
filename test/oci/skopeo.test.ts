/**
 * A standard OCI client reads what `oci/` writes, and the reverse: skopeo (Debian's) inspects and
 * copies an artifact pushed to the registry, copies it into an OCI layout that the layout store
 * then pulls from, and copies an artifact from the embedded layout to the registry unchanged.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullArtifact, pushArtifact } from '../../oci/artifact.ts';
import { digestOf } from '../../oci/digest.ts';
import { layoutDirectory, openLayoutStore } from '../../oci/layout-store.ts';
import { openRegistryStore } from '../../oci/registry-client.ts';
import type { OciStore } from '../../oci/store.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { ensureSkopeo, skopeo } from '../support/skopeo.ts';
import { type Scratch, scratch } from './support.ts';

const BUNDLE = 'application/vnd.modelship.bundle.v1';

function ok(args: string[]): string {
  const result = skopeo(args);
  expect(result.status, `skopeo ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('skopeo and oci/', () => {
  let registry: TestRegistry;
  let work: Scratch;
  let store: OciStore;
  let creds: string;

  beforeAll(async () => {
    ensureSkopeo();
    [registry, work] = await Promise.all([startRegistry(), scratch()]);
    store = openRegistryStore({
      url: registry.url,
      credentials: { username: registry.username, password: registry.password },
    });
    creds = `${registry.username}:${registry.password}`;
  });
  afterAll(async () => {
    await registry.close();
    await work.remove();
  });

  it('skopeo inspects and copies what the registry client pushed, and the layout store reads the copy', async () => {
    const model = await work.file('model.onnx', Buffer.alloc(10_000, 5));
    const spec = await work.file('spec.yaml', 'model: iris\n');
    const pushed = await pushArtifact(store, {
      repository: 'models/iris',
      artifactType: BUNDLE,
      files: [
        { path: model, name: 'model.onnx' },
        { path: spec, name: 'spec.yaml' },
      ],
    });
    const source = `docker://${registry.host}/models/iris@${pushed.digest}`;
    const raw = ok(['inspect', '--raw', '--creds', creds, '--tls-verify=false', source]);
    expect(digestOf(Buffer.from(raw))).toBe(pushed.digest);

    const root = join(work.dir, 'copied');
    await mkdir(root);
    const layout = layoutDirectory(root, 'models/iris');
    ok(['copy', '--src-creds', creds, '--src-tls-verify=false', source, `oci:${layout}:pulled`]);
    const copy = openLayoutStore({ root });
    expect((await copy.fetchManifest('models/iris', { tag: 'pulled' })).descriptor.digest).toBe(
      pushed.digest,
    );
    const target = join(work.dir, 'from-skopeo');
    await pullArtifact(copy, {
      repository: 'models/iris',
      digest: pushed.digest,
      targetDir: target,
      expectArtifactType: BUNDLE,
    });
    expect(await readFile(join(target, 'spec.yaml'), 'utf8')).toBe('model: iris\n');
  });

  it('skopeo copies an artifact from the embedded layout to the registry unchanged', async () => {
    const layoutStore = openLayoutStore({ root: join(work.dir, 'embedded') });
    const file = await work.file('bom.cdx.json', '{"bomFormat":"CycloneDX"}');
    const pushed = await pushArtifact(layoutStore, {
      repository: 'models/wine',
      artifactType: BUNDLE,
      files: [{ path: file, name: 'bom.cdx.json' }],
      tag: 'v1',
    });
    const source = `oci:${layoutDirectory(join(work.dir, 'embedded'), 'models/wine')}:v1`;
    expect(digestOf(Buffer.from(ok(['inspect', '--raw', source])))).toBe(pushed.digest);
    ok([
      'copy',
      '--dest-creds',
      creds,
      '--dest-tls-verify=false',
      source,
      `docker://${registry.host}/models/wine:v1`,
    ]);
    const target = join(work.dir, 'wine');
    await pullArtifact(store, { repository: 'models/wine', digest: pushed.digest, targetDir: target });
    expect(await readFile(join(target, 'bom.cdx.json'), 'utf8')).toBe('{"bomFormat":"CycloneDX"}');
  });
});
