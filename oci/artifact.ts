/**
 * Artifacts on any `OciStore`, as the OCI 1.1 image spec's artifact guidance shapes them: an image
 * manifest with an `artifactType`, the empty config (`{}`, `application/vnd.oci.empty.v1+json`)
 * and one layer per file, titled with the file's name (`org.opencontainers.image.title`). A
 * modelship bundle is one such artifact; signed evidence attached later is another whose
 * `subject` is the bundle (`attachReferrer`).
 *
 * Pulling treats the store as hostile: the manifest is verified against the digest asked for and
 * every layer against its own; titles that could escape the target directory or collide are
 * refused before a byte is written; sizes are capped per file and in total. Files land in a
 * temporary sibling of the target directory, which is renamed into place only when all of them
 * are verified, so the target is complete or absent.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { artifactTypeOf, type Descriptor, type ImageManifest, parseImageManifest } from './descriptor.ts';
import { type Digest, digestOf } from './digest.ts';
import { OciError } from './errors.ts';
import { ANNOTATION_TITLE, OCI_EMPTY, OCI_MANIFEST, OCTET_STREAM } from './media-types.ts';
import { assertDigest } from './reference.ts';
import { DEFAULT_MAX_MANIFEST_BYTES, type OciStore } from './store.ts';

/** The empty config's bytes: the JSON object `{}`. */
const EMPTY_JSON = Buffer.from('{}');

/** The empty descriptor the artifact guidance puts in `config` (its two bytes inline too). */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: OCI_EMPTY,
  digest: digestOf(EMPTY_JSON),
  size: EMPTY_JSON.length,
  data: EMPTY_JSON.toString('base64'),
};

/** One file of an artifact: where it is read from, the name it is stored (and pulled) under. */
export interface ArtifactFile {
  path: string;
  name: string;
  mediaType?: string;
}

export interface PushArtifactInput {
  repository: string;
  /** What the artifact is, e.g. `application/vnd.modelship.bundle.v1`. */
  artifactType: string;
  files: readonly ArtifactFile[];
  annotations?: Record<string, string>;
  /** The manifest this artifact refers to (signatures, evidence): listed among its referrers. */
  subject?: Descriptor;
  /** Also tag the manifest (the embedded layout shows tags to `skopeo` and friends). */
  tag?: string;
}

/** Limits on what a pull accepts; a store's content over one is refused as `too-large`. */
export interface PullLimits {
  maxManifestBytes: number;
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** Generous for a model bundle, small enough that a hostile manifest cannot fill a disk. */
export const DEFAULT_PULL_LIMITS: PullLimits = {
  maxManifestBytes: 256 * 1024,
  maxFiles: 64,
  maxFileBytes: 4 * 1024 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
};

export interface PullArtifactInput {
  repository: string;
  digest: Digest;
  /** Must not exist yet; its parent is created if needed. */
  targetDir: string;
  /** Refuse an artifact of another type (an index, an image, another kind of artifact). */
  expectArtifactType?: string;
  limits?: Partial<PullLimits>;
}

export interface PulledArtifact {
  descriptor: Descriptor;
  artifactType: string;
  annotations: Record<string, string>;
  files: { name: string; digest: Digest; size: number; mediaType: string }[];
}

/** Why `name` cannot be a file name in a pulled directory, or undefined when it can. */
export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name === '.' || name === '..') return 'is a directory reference';
  if (/[/\\]/.test(name)) return 'contains a path separator';
  if (name.includes('\0')) return 'contains a NUL byte';
  if (Buffer.byteLength(name) > 255) return 'is longer than 255 bytes';
  return undefined;
}

function checkNames(names: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    const problem = fileNameProblem(name);
    if (problem) throw new OciError('invalid', `${what}: file name ${JSON.stringify(name)} ${problem}`);
    if (seen.has(name))
      throw new OciError('invalid', `${what}: file name ${JSON.stringify(name)} appears twice`);
    seen.add(name);
  }
}

/** Pushes `files` as one artifact and returns its manifest's descriptor. */
export async function pushArtifact(store: OciStore, input: PushArtifactInput): Promise<Descriptor> {
  checkNames(
    input.files.map((file) => file.name),
    `artifact for ${input.repository}`,
  );
  await store.pushBlob(input.repository, { bytes: EMPTY_JSON });
  const layers: Descriptor[] = [];
  for (const file of input.files) {
    const blob = await store.pushBlob(input.repository, { path: file.path });
    layers.push({
      mediaType: file.mediaType ?? OCTET_STREAM,
      digest: blob.digest,
      size: blob.size,
      annotations: { [ANNOTATION_TITLE]: file.name },
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: input.artifactType,
    config: EMPTY_CONFIG,
    layers,
    ...(input.subject
      ? {
          subject: {
            mediaType: input.subject.mediaType,
            digest: input.subject.digest,
            size: input.subject.size,
          },
        }
      : {}),
    ...(input.annotations ? { annotations: input.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return store.pushManifest(
    input.repository,
    { mediaType: OCI_MANIFEST, bytes },
    input.tag !== undefined ? { tag: input.tag } : {},
  );
}

/** Pushes `files` as an artifact about `subject` (signatures, evidence): one of its referrers. */
export function attachReferrer(
  store: OciStore,
  input: PushArtifactInput & { subject: Descriptor },
): Promise<Descriptor> {
  return pushArtifact(store, input);
}

/** The manifest's layers as files, refused unless every one is safe to write under its title. */
function plannedFiles(manifest: ImageManifest, limits: PullLimits, what: string) {
  if (manifest.layers.length > limits.maxFiles) {
    throw new OciError(
      'too-large',
      `${what} has ${manifest.layers.length} files, over the limit of ${limits.maxFiles}`,
    );
  }
  const files = manifest.layers.map((layer, position) => {
    const name = layer.annotations?.[ANNOTATION_TITLE];
    if (name === undefined)
      throw new OciError('invalid', `${what}: layer ${position} has no ${ANNOTATION_TITLE}`);
    if (layer.size > limits.maxFileBytes) {
      throw new OciError(
        'too-large',
        `${what}: ${name} is ${layer.size} bytes, over the ${limits.maxFileBytes}-byte limit`,
      );
    }
    return { name, layer };
  });
  checkNames(
    files.map((file) => file.name),
    what,
  );
  const total = files.reduce((sum, file) => sum + file.layer.size, 0);
  if (total > limits.maxTotalBytes) {
    throw new OciError(
      'too-large',
      `${what} holds ${total} bytes, over the ${limits.maxTotalBytes}-byte limit`,
    );
  }
  return files;
}

/** Pulls the artifact `digest` into `targetDir`, verified and whole, or throws and leaves nothing. */
export async function pullArtifact(store: OciStore, input: PullArtifactInput): Promise<PulledArtifact> {
  assertDigest(input.digest);
  const limits = { ...DEFAULT_PULL_LIMITS, ...input.limits };
  const what = `artifact ${input.digest} in ${input.repository} (${store.describe()})`;
  const target = resolve(input.targetDir);
  if (await exists(target)) throw new OciError('refused', `${what}: the target ${target} exists already`);
  const fetched = await store.fetchManifest(
    input.repository,
    { digest: input.digest },
    { maxBytes: Math.min(limits.maxManifestBytes, DEFAULT_MAX_MANIFEST_BYTES) },
  );
  if (fetched.descriptor.mediaType !== OCI_MANIFEST) {
    throw new OciError('invalid', `${what} is a ${fetched.descriptor.mediaType}, not an OCI image manifest`);
  }
  const manifest = parseImageManifest(fetched.bytes, what);
  const artifactType = artifactTypeOf(manifest);
  if (input.expectArtifactType !== undefined && artifactType !== input.expectArtifactType) {
    throw new OciError('invalid', `${what} is of type ${artifactType}, not ${input.expectArtifactType}`);
  }
  const files = plannedFiles(manifest, limits, what);
  await mkdir(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${randomBytes(6).toString('hex')}.partial`);
  await mkdir(staging);
  try {
    for (const file of files) {
      await store.fetchBlob(input.repository, file.layer.digest, join(staging, file.name), {
        maxBytes: file.layer.size,
        expectedSize: file.layer.size,
      });
    }
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    descriptor: { ...fetched.descriptor, artifactType },
    artifactType,
    annotations: manifest.annotations ?? {},
    files: files.map((file) => ({
      name: file.name,
      digest: file.layer.digest,
      size: file.layer.size,
      mediaType: file.layer.mediaType,
    })),
  };
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
