/**
 * A model published as an OCI artifact: `oci://registry[:port]/repository@sha256:<manifest>`.
 * The reference pins the manifest (verified on fetch, so a registry cannot swap the artifact);
 * the model is its only layer, or the layer titled `model.onnx`; the layer is verified against
 * its descriptor while it is written; the spec's own sha256 pin is then checked by the caller.
 *
 * Registries are reached over https, except on a loopback host (`localhost`, `127.0.0.0/8`,
 * `[::1]`), which is plain http as Docker and containerd treat it: a registry on the worker's
 * own machine. Credentials come from the caller, per host (the worker's registry settings).
 */
import { join } from 'node:path';
import { artifactTypeOf, parseImageManifest } from '../oci/descriptor.ts';
import { OciError } from '../oci/errors.ts';
import { ANNOTATION_TITLE } from '../oci/media-types.ts';
import { openOciStore } from '../oci/open.ts';
import { type OciReference, parseReference } from '../oci/reference.ts';
import type { RegistryCredentials } from '../oci/registry-auth.ts';

/** The layer title that names the model when an artifact has several files. */
const MODEL_TITLE = 'model.onnx';

export interface OciModelOptions {
  /** The worker's credentials for `host`, if it has any. */
  credentialsFor?: (host: string) => RegistryCredentials | undefined;
  /** Largest model layer accepted. */
  maxBytes: number;
  /** An empty directory the layer is written to. */
  workDir: string;
}

/** Whether `host` (with or without a port) is this machine's own. */
function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** The registry base URL a reference's host is reached at. */
export function registryUrlOf(host: string): string {
  return `${isLoopback(host) ? 'http' : 'https'}://${host}`;
}

/** Parses `source` as an OCI reference; an `OciError` of kind `invalid` when it is not one. */
export function parseOciSource(source: string): OciReference {
  return parseReference(source);
}

/**
 * Fetches the model layer of the artifact `reference` names into `workDir`; resolves with its
 * path. Every failure is an `OciError` (`not-found`, `unauthorized`, `invalid`, `too-large`,
 * `digest-mismatch`, `transient`).
 */
export async function fetchOciModel(reference: OciReference, options: OciModelOptions): Promise<string> {
  const credentials = options.credentialsFor?.(reference.host);
  const store = openOciStore({
    kind: 'registry',
    url: registryUrlOf(reference.host),
    ...(credentials ? { credentials } : {}),
  });
  const what = `oci://${reference.host}/${reference.repository}@${reference.digest}`;
  const fetched = await store.fetchManifest(reference.repository, { digest: reference.digest });
  const manifest = parseImageManifest(fetched.bytes, what);
  const layers = manifest.layers;
  const layer =
    layers.length === 1
      ? layers[0]
      : layers.find((candidate) => candidate.annotations?.[ANNOTATION_TITLE] === MODEL_TITLE);
  if (!layer) {
    const titles = layers.map((candidate) => candidate.annotations?.[ANNOTATION_TITLE] ?? '(untitled)');
    throw new OciError(
      'invalid',
      `${what} (${artifactTypeOf(manifest)}) has ${layers.length} layers and none titled ${MODEL_TITLE}: ${titles.join(', ') || 'none'}`,
    );
  }
  if (layer.size > options.maxBytes) {
    throw new OciError(
      'too-large',
      `${what}: the model layer is ${layer.size} bytes, over this worker's ${options.maxBytes}-byte limit`,
    );
  }
  const path = join(options.workDir, 'model');
  await store.fetchBlob(reference.repository, layer.digest, path, {
    maxBytes: options.maxBytes,
    expectedSize: layer.size,
  });
  return path;
}
