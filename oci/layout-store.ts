/**
 * The embedded OCI store: OCI image layouts on the local disk, so modelship needs no registry to
 * run (`npm start`). Any OCI tool reads what it writes (`skopeo copy oci:<dir>:<tag> …`).
 *
 * An OCI image layout has no repositories, so each repository is a layout of its own, one
 * directory per repository directly under the root, named by the repository with `/` written as
 * `+` (`models/iris` → `<root>/models+iris/`). Flat on purpose: nested layouts would let the
 * repository `a/blobs` land inside the layout of `a`. The repository grammar (`reference.ts`)
 * has no `+`, no `..` and no leading dot, so names map one to one and stay under the root.
 *
 * Each layout holds `oci-layout`, `index.json` and `blobs/sha256/<hex>`. Every manifest pushed is
 * listed in `index.json` (tagged ones with `org.opencontainers.image.ref.name`), so nothing is
 * unreachable for a garbage collector. Blobs are written to `<root>/.tmp/`, flushed and renamed
 * into place; `index.json` is replaced the same way, under an in-process lock per layout, so
 * concurrent pushes in one process are safe. Several processes writing one root at once are not
 * supported (one worker owns its `MODELSHIP_HOME`). Referrers are found by reading the manifests
 * the index lists, which a local disk makes cheap; no fallback tag is kept.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  parseImageIndex,
  parseImageManifest,
  referrerDescriptor,
} from './descriptor.ts';
import { type Digest, digestHex, digestOf } from './digest.ts';
import { OciError } from './errors.ts';
import { writeFileAtomic, writeStreamVerified } from './files.ts';
import { ANNOTATION_REF_NAME, OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import { assertDigest, assertRepository, assertTag } from './reference.ts';
import { filterReferrers } from './referrers-tag.ts';
import { serialized } from './serial.ts';
import {
  type BlobRef,
  type BlobSource,
  DEFAULT_MAX_MANIFEST_BYTES,
  type FetchedManifest,
  type ManifestReference,
  type OciStore,
} from './store.ts';

const LAYOUT_FILE = 'oci-layout';
const LAYOUT_CONTENT = `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`;
const INDEX_FILE = 'index.json';

/** The directory of `repository`'s layout under `root`. */
export function layoutDirectory(root: string, repository: string): string {
  assertRepository(repository);
  return join(resolve(root), repository.replaceAll('/', '+'));
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Opens (without creating anything yet) the layouts under `root`. */
export function openLayoutStore(options: { root: string }): OciStore {
  const root = resolve(options.root);
  const tempDir = join(root, '.tmp');
  const where = (repository: string) => `repository ${repository} in OCI layout ${root}`;
  const blobPath = (repository: string, digest: Digest) =>
    join(layoutDirectory(root, repository), 'blobs', 'sha256', digestHex(digest));

  /** Creates the layout's skeleton on first write; `oci-layout` last, as the marker of a layout. */
  async function ensureLayout(repository: string): Promise<string> {
    const dir = layoutDirectory(root, repository);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(tempDir, { recursive: true });
    const present = await stat(join(dir, LAYOUT_FILE)).then(
      () => true,
      () => false,
    );
    if (!present) {
      await serialized(dir, async () => {
        const index = await readIndex(repository);
        await writeFileAtomic(join(dir, INDEX_FILE), encodeIndex(index), tempDir);
        await writeFileAtomic(join(dir, LAYOUT_FILE), Buffer.from(LAYOUT_CONTENT), tempDir);
      });
    }
    return dir;
  }

  async function readIndex(repository: string): Promise<ImageIndex> {
    const path = join(layoutDirectory(root, repository), INDEX_FILE);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if (isMissing(error)) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      throw error;
    }
    return parseImageIndex(bytes, `${path} (index of ${where(repository)})`);
  }

  /** Reads a whole blob that must be small (a manifest), verified against its digest. */
  async function readBlobVerified(repository: string, digest: Digest, maxBytes: number): Promise<Buffer> {
    const what = `manifest ${digest} of ${where(repository)}`;
    const path = blobPath(repository, digest);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) throw new OciError('not-found', `${what} is not there`);
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (size > maxBytes)
        throw new OciError('too-large', `${what} is ${size} bytes, over the ${maxBytes}-byte limit`);
      const bytes = await handle.readFile();
      const actual = digestOf(bytes);
      if (actual !== digest) {
        throw new OciError('digest-mismatch', `${what}: the stored bytes hash to ${actual}`);
      }
      return bytes;
    } finally {
      await handle.close();
    }
  }

  async function fetchByDigest(
    repository: string,
    digest: Digest,
    maxBytes: number,
    index: ImageIndex,
  ): Promise<FetchedManifest> {
    const bytes = await readBlobVerified(repository, digest, maxBytes);
    const listed = index.manifests.find((entry) => entry.digest === digest);
    const mediaType = listed?.mediaType ?? declaredMediaType(bytes);
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  return {
    describe: () => `OCI layout ${root}`,

    async pushBlob(
      repository: string,
      source: BlobSource,
      options: { expected?: Digest } = {},
    ): Promise<BlobRef> {
      await ensureLayout(repository);
      if ('bytes' in source) {
        const digest = digestOf(source.bytes);
        if (options.expected !== undefined && digest !== options.expected) {
          throw new OciError(
            'digest-mismatch',
            `blob for ${where(repository)} hashes to ${digest}, not ${options.expected}`,
          );
        }
        const path = blobPath(repository, digest);
        const present = await stat(path).then(
          (found) => found.size === source.bytes.length,
          () => false,
        );
        if (!present) await writeFileAtomic(path, source.bytes, tempDir);
        return { digest, size: source.bytes.length };
      }
      return writeStreamVerified(createReadStream(source.path), (digest) => blobPath(repository, digest), {
        ...(options.expected !== undefined ? { expected: options.expected } : {}),
        maxBytes: Number.POSITIVE_INFINITY,
        what: `${source.path} pushed to ${where(repository)}`,
        tempDir,
      });
    },

    async hasBlob(repository, digest) {
      assertDigest(digest);
      return stat(blobPath(repository, digest)).then(
        (found) => found.isFile(),
        () => false,
      );
    },

    async fetchBlob(repository, digest, targetPath, options) {
      assertDigest(digest);
      const what = `blob ${digest} of ${where(repository)}`;
      const path = blobPath(repository, digest);
      const found = await stat(path).catch((error: unknown) => {
        if (isMissing(error)) throw new OciError('not-found', `${what} is not there`);
        throw error;
      });
      if (found.size > options.maxBytes) {
        throw new OciError(
          'too-large',
          `${what} is ${found.size} bytes, over the ${options.maxBytes}-byte limit`,
        );
      }
      return writeStreamVerified(createReadStream(path), targetPath, {
        expected: digest,
        ...(options.expectedSize !== undefined ? { expectedSize: options.expectedSize } : {}),
        maxBytes: options.maxBytes,
        what,
      });
    },

    async pushManifest(repository, manifest, options = {}) {
      if (options.tag !== undefined) assertTag(options.tag);
      const dir = await ensureLayout(repository);
      const digest = digestOf(manifest.bytes);
      const parsed = parseForIndex(manifest, `manifest ${digest} for ${where(repository)}`);
      await writeFileAtomic(blobPath(repository, digest), manifest.bytes, tempDir);
      const descriptor: Descriptor = {
        mediaType: manifest.mediaType,
        digest,
        size: manifest.bytes.length,
        ...(parsed?.artifactType !== undefined ? { artifactType: parsed.artifactType } : {}),
      };
      await serialized(dir, async () => {
        const index = await readIndex(repository);
        const next = withManifest(index, descriptor, options.tag);
        if (next !== index) await writeFileAtomic(join(dir, INDEX_FILE), encodeIndex(next), tempDir);
      });
      return descriptor;
    },

    async fetchManifest(repository, reference: ManifestReference, options = {}) {
      const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
      const index = await readIndex(repository);
      if ('digest' in reference) {
        assertDigest(reference.digest);
        return fetchByDigest(repository, reference.digest, maxBytes, index);
      }
      assertTag(reference.tag);
      const tagged = index.manifests.find(
        (entry) => entry.annotations?.[ANNOTATION_REF_NAME] === reference.tag,
      );
      if (!tagged)
        throw new OciError('not-found', `tag ${reference.tag} of ${where(repository)} is not there`);
      return fetchByDigest(repository, tagged.digest, maxBytes, index);
    },

    async listReferrers(repository, digest, options = {}) {
      assertDigest(digest);
      const index = await readIndex(repository);
      const seen = new Set<string>();
      const referrers: Descriptor[] = [];
      for (const entry of index.manifests) {
        if (entry.mediaType !== OCI_MANIFEST || seen.has(entry.digest)) continue;
        seen.add(entry.digest);
        const bytes = await readBlobVerified(repository, entry.digest, DEFAULT_MAX_MANIFEST_BYTES);
        const manifest = parseImageManifest(bytes, `manifest ${entry.digest} of ${where(repository)}`);
        if (manifest.subject?.digest === digest) {
          referrers.push(
            referrerDescriptor(manifest, {
              mediaType: entry.mediaType,
              digest: entry.digest,
              size: bytes.length,
            }),
          );
        }
      }
      return filterReferrers(referrers, options.artifactType);
    },
  };
}

/** The manifest's own `mediaType` field, for a manifest the index does not list. */
function declaredMediaType(bytes: Uint8Array): string {
  try {
    const json: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (json && typeof json === 'object' && 'mediaType' in json && typeof json.mediaType === 'string') {
      return json.mediaType;
    }
  } catch {
    // Not JSON: the caller's parse says so with context.
  }
  return OCI_MANIFEST;
}

/** Checks that a manifest to push is the OCI document its media type says, before it is stored. */
function parseForIndex(
  manifest: { mediaType: string; bytes: Uint8Array },
  what: string,
): ImageManifest | undefined {
  if (manifest.mediaType === OCI_MANIFEST) return parseImageManifest(manifest.bytes, what);
  if (manifest.mediaType === OCI_INDEX) {
    parseImageIndex(manifest.bytes, what);
    return undefined;
  }
  throw new OciError(
    'invalid',
    `${what}: media type ${manifest.mediaType} is neither an OCI manifest nor an index`,
  );
}

/**
 * The index with `descriptor` listed: under `tag` (taken from whatever it named before) or, when
 * untagged, once. Returns `index` itself when nothing changes.
 */
function withManifest(index: ImageIndex, descriptor: Descriptor, tag: string | undefined): ImageIndex {
  if (tag === undefined) {
    if (index.manifests.some((entry) => entry.digest === descriptor.digest)) return index;
    return { ...index, manifests: [...index.manifests, descriptor] };
  }
  const current = index.manifests.find((entry) => entry.annotations?.[ANNOTATION_REF_NAME] === tag);
  if (current?.digest === descriptor.digest) return index;
  const others = index.manifests.filter(
    (entry) =>
      entry.annotations?.[ANNOTATION_REF_NAME] !== tag &&
      // An untagged entry of the same manifest is redundant once it is tagged.
      !(entry.digest === descriptor.digest && entry.annotations?.[ANNOTATION_REF_NAME] === undefined),
  );
  const tagged = { ...descriptor, annotations: { [ANNOTATION_REF_NAME]: tag } };
  // The manifest the tag leaves stays listed, untagged: its referrers are found through the index.
  const keep: Descriptor[] = [];
  if (current && !others.some((entry) => entry.digest === current.digest)) {
    const { annotations: _tag, ...untagged } = current;
    keep.push(untagged);
  }
  return { ...index, manifests: [...others, ...keep, tagged] };
}

function encodeIndex(index: ImageIndex): Buffer {
  return Buffer.from(
    `${JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index.manifests })}\n`,
  );
}
