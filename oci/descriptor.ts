/**
 * Descriptors, image manifests and image indexes (OCI image spec 1.1), parsed with zod from the
 * bytes a store returned: a registry's or a layout's JSON is never trusted to have the right
 * shape. The schemas are loose about fields modelship does not read (they are dropped) and
 * strict about the ones it acts on: digests are sha256 only, sizes are safe non-negative
 * integers, annotations are strings.
 *
 * A parsed manifest is for reading only: a manifest's identity is its exact bytes, so nothing
 * here re-serialises what it parsed.
 */
import { z } from 'zod';
import { type Digest, isDigest } from './digest.ts';
import { OciError } from './errors.ts';
import { OCI_INDEX, OCI_MANIFEST } from './media-types.ts';

const digest = z
  .string()
  .refine(isDigest, { message: 'must be a sha256 digest: sha256:<64 lowercase hex>' })
  .transform((value) => value as Digest);

const mediaType = z.string().min(1).max(255);
const annotations = z.record(z.string(), z.string());

export const DescriptorSchema = z.object({
  mediaType,
  digest,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  artifactType: mediaType.optional(),
  annotations: annotations.optional(),
  /** The content itself, base64: allowed by the spec for small blobs such as the empty config. */
  data: z.string().optional(),
});
/** What names a blob or manifest: its media type, digest and size. */
export type Descriptor = z.output<typeof DescriptorSchema>;

export const ImageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST).optional(),
  artifactType: mediaType.optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
/** An OCI image manifest; an artifact is one with `artifactType` (or a config type of its own). */
export type ImageManifest = z.output<typeof ImageManifestSchema>;

export const ImageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_INDEX).optional(),
  artifactType: mediaType.optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
/** An OCI image index: the layout's `index.json`, the referrers list and its fallback tag. */
export type ImageIndex = z.output<typeof ImageIndexSchema>;

function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new OciError('invalid', `${what} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new OciError('invalid', `${what} is not a valid OCI document: ${issues}`);
  }
  return parsed.data;
}

/** Parses an image manifest; `what` names it in errors (e.g. `manifest sha256:… in models/iris`). */
export function parseImageManifest(bytes: Uint8Array, what: string): ImageManifest {
  return parseJson(bytes, ImageManifestSchema, what);
}

/** Parses an image index; `what` names it in errors. */
export function parseImageIndex(bytes: Uint8Array, what: string): ImageIndex {
  return parseJson(bytes, ImageIndexSchema, what);
}

/** The type of an artifact, as the referrers API reports it: `artifactType`, else the config's type. */
export function artifactTypeOf(manifest: ImageManifest): string {
  return manifest.artifactType ?? manifest.config.mediaType;
}

/**
 * The entry for `manifest` in a referrers list (the referrers API's answer or its fallback tag
 * index): the manifest's descriptor with its artifact type and annotations.
 */
export function referrerDescriptor(
  manifest: ImageManifest,
  descriptor: { mediaType: string; digest: Digest; size: number },
): Descriptor {
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    artifactType: artifactTypeOf(manifest),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
}
