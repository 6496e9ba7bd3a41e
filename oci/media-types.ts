/**
 * The media types and annotation keys of the OCI image spec (v1.1) that modelship writes and
 * reads. Constants only, so every module names them the same way.
 */

/** An image manifest: config + layers (+ `artifactType`, `subject` since image-spec 1.1). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** An image index: a list of manifest descriptors (the referrers list has this shape too). */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** The empty JSON object `{}`: the config of an artifact that has no config of its own. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** A layer of unspecified content: the default for an artifact's files. */
export const OCTET_STREAM = 'application/octet-stream';

/** The file name of a layer; `pullArtifact` writes each layer under it. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
/** A tag in an OCI image layout's `index.json`. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** The manifest media types a fetch accepts (what `Accept` lists). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [OCI_MANIFEST, OCI_INDEX];
