/**
 * Helpers of the `oci/` tests: temporary directories, files, hand-made manifests (to push what
 * `pushArtifact` never would), and catching an `OciError`.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { EMPTY_CONFIG } from '../../oci/artifact.ts';
import type { Descriptor } from '../../oci/descriptor.ts';
import { OciError, type OciErrorKind } from '../../oci/errors.ts';
import { ANNOTATION_TITLE, OCI_MANIFEST } from '../../oci/media-types.ts';
import type { OciStore } from '../../oci/store.ts';

export interface Scratch {
  dir: string;
  /** Writes a file under the scratch directory and returns its path. */
  file(name: string, content: string | Uint8Array): Promise<string>;
  remove(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-oci-test-'));
  return {
    dir,
    async file(name, content) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Awaits `promise`, expects it to fail with an `OciError` of `kind`, and returns the error. */
export async function ociFailure(promise: Promise<unknown>, kind: OciErrorKind): Promise<OciError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OciError);
  expect((error as OciError).kind, (error as Error).message).toBe(kind);
  return error as OciError;
}

/** The names in a directory that look like leftovers of an interrupted write. */
export async function leftovers(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  return names.filter((name) => name.includes('partial'));
}

/**
 * Pushes an artifact manifest built by hand: `layers` name blobs pushed here from `content`,
 * each with the given title (or none) and an optional false size.
 */
export async function pushHandMadeManifest(
  store: OciStore,
  repository: string,
  layers: { content: string; title?: string; declaredSize?: number }[],
  extra: Record<string, unknown> = {},
): Promise<Descriptor> {
  await store.pushBlob(repository, { bytes: Buffer.from('{}') });
  const descriptors = [];
  for (const layer of layers) {
    const blob = await store.pushBlob(repository, { bytes: Buffer.from(layer.content) });
    descriptors.push({
      mediaType: 'application/octet-stream',
      digest: blob.digest,
      size: layer.declaredSize ?? blob.size,
      ...(layer.title !== undefined ? { annotations: { [ANNOTATION_TITLE]: layer.title } } : {}),
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.modelship.test.v1',
    config: EMPTY_CONFIG,
    layers: descriptors,
    ...extra,
  };
  return store.pushManifest(repository, {
    mediaType: OCI_MANIFEST,
    bytes: Buffer.from(JSON.stringify(manifest)),
  });
}
