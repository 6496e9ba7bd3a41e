/**
 * The port every OCI back end implements: a registry over the distribution API
 * (`registry-client.ts`) or an OCI image layout on disk (`layout-store.ts`, the embedded default,
 * so `npm start` needs no registry). Artifacts (`artifact.ts`) are built on it alone, so pushing
 * and pulling a bundle reads the same whichever back end the environment uses.
 *
 * Both back ends promise the same things: content is addressed by sha256 digest and verified
 * against it on every read (a store that returns other bytes is refused with `digest-mismatch`);
 * reads are capped; what is written is either complete under its final name or absent; errors
 * are `OciError`s whose kind is `not-found` when content is missing.
 */
import type { Descriptor } from './descriptor.ts';
import type { Digest } from './digest.ts';

/** Bytes to push: a file (streamed, never read whole into memory) or bytes already in memory. */
export type BlobSource = { path: string } | { bytes: Uint8Array };

/** A blob's identity: enough to name it in a descriptor. */
export interface BlobRef {
  digest: Digest;
  size: number;
}

/** A manifest (or index) as fetched: its exact bytes, verified against `descriptor.digest`. */
export interface FetchedManifest {
  descriptor: { mediaType: string; digest: Digest; size: number };
  bytes: Uint8Array;
}

/** How a manifest is fetched: by digest (verified against it) or by tag (digest computed). */
export type ManifestReference = { digest: Digest } | { tag: string };

export interface OciStore {
  /** `registry https://host (user …)` or `OCI layout /path`, for messages and logs. */
  describe(): string;

  /**
   * Stores a blob, computing its digest while reading; with `expected`, refuses bytes that do not
   * hash to it. A blob already present is not written (or uploaded) again.
   */
  pushBlob(repository: string, source: BlobSource, options?: { expected?: Digest }): Promise<BlobRef>;

  hasBlob(repository: string, digest: Digest): Promise<boolean>;

  /**
   * Writes the blob to `targetPath`, streaming, verified against `digest` (and `expectedSize`
   * when given) before it appears under that name; more than `maxBytes` is refused as
   * `too-large`.
   */
  fetchBlob(
    repository: string,
    digest: Digest,
    targetPath: string,
    options: { maxBytes: number; expectedSize?: number },
  ): Promise<BlobRef>;

  /**
   * Stores a manifest or index under its digest, and under `tag` when given. A manifest with a
   * `subject` becomes listed among that subject's referrers.
   */
  pushManifest(
    repository: string,
    manifest: { mediaType: string; bytes: Uint8Array },
    options?: { tag?: string },
  ): Promise<Descriptor>;

  /** Fetches a manifest or index, at most `maxBytes` long (default 4 MiB, the spec's minimum). */
  fetchManifest(
    repository: string,
    reference: ManifestReference,
    options?: { maxBytes?: number },
  ): Promise<FetchedManifest>;

  /** The manifests whose `subject` is `digest`, optionally only those of one artifact type. */
  listReferrers(
    repository: string,
    digest: Digest,
    options?: { artifactType?: string },
  ): Promise<Descriptor[]>;
}

/** The manifest size limit when the caller gives none: what the distribution spec lets registries refuse above. */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
