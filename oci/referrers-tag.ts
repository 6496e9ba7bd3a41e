/**
 * The distribution spec's fallback for registries without the referrers API (distribution 2.8,
 * among others): an image index tagged `sha256-<hex of the subject's digest>` lists the subject's
 * referrers, and the client that pushes a manifest with a `subject` adds it there. Pure functions
 * over the index; the registry client does the reading and writing.
 *
 * The update is a read-modify-write of a tag, which the distribution API cannot make atomic
 * between clients: two processes attaching referrers to one subject at the same moment can lose
 * one entry (the spec accepts this). Within one process the registry client serialises updates.
 */
import type { Descriptor, ImageIndex } from './descriptor.ts';
import { type Digest, digestHex } from './digest.ts';
import { OCI_INDEX } from './media-types.ts';

/** The tag of the fallback referrers index of `subject`. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/** The fallback index with `referrer` listed once (added, or its entry replaced). */
export function withReferrer(index: ImageIndex | undefined, referrer: Descriptor): ImageIndex {
  const others = (index?.manifests ?? []).filter((entry) => entry.digest !== referrer.digest);
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...others, referrer],
  };
}

/** Whether `index` already lists `referrer` exactly as it would be written. */
export function listsReferrer(index: ImageIndex | undefined, referrer: Descriptor): boolean {
  const entry = index?.manifests.find((candidate) => candidate.digest === referrer.digest);
  return entry !== undefined && JSON.stringify(entry) === JSON.stringify(referrer);
}

/** The referrers of an answer, keeping only `artifactType`'s when one is asked for. */
export function filterReferrers(referrers: readonly Descriptor[], artifactType?: string): Descriptor[] {
  return artifactType === undefined
    ? [...referrers]
    : referrers.filter((entry) => entry.artifactType === artifactType);
}
