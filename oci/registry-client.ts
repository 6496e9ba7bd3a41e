/**
 * An `OciStore` over the OCI distribution API (HTTP or HTTPS, with `fetch`): what a multi-machine
 * modelship pushes bundles to and data-plane replicas pull them from.
 *
 * Blobs are uploaded by `registry-upload.ts` (HEAD first; monolithic or chunked).
 *
 * Manifests are PUT by digest (then by tag, if asked) with their media type as `Content-Type`.
 * Everything read is verified: blobs and manifests against the digest that named them, a tagged
 * manifest against the registry's `Docker-Content-Digest`.
 *
 * Referrers: the referrers API (`GET /v2/<name>/referrers/<digest>`) when the registry has it;
 * where it answers 404 (distribution 2.8 has no such route), the spec's referrers tag schema
 * (`referrers-tag.ts`), which this client maintains on every push of a manifest with a `subject`
 * unless the registry's `OCI-Subject` answer says it indexes referrers itself.
 *
 * TLS: `https:` origins are verified against Node's CA store; a private CA is added with
 * `NODE_EXTRA_CA_CERTS` (Node 20's `fetch` takes a per-request CA only through an undici
 * dispatcher, which this project does not depend on; a caller that has one passes its own
 * `fetch`). Retries: see `registry-http.ts`.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  type Descriptor,
  type ImageIndex,
  parseImageIndex,
  parseImageManifest,
  referrerDescriptor,
} from './descriptor.ts';
import { type Digest, digestFile, digestOf } from './digest.ts';
import { OciError } from './errors.ts';
import { writeStreamVerified } from './files.ts';
import { MANIFEST_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import { assertDigest, assertTag } from './reference.ts';
import { filterReferrers, listsReferrer, referrersTag, withReferrer } from './referrers-tag.ts';
import { RegistryAuth, type RegistryCredentials } from './registry-auth.ts';
import {
  describeTarget,
  mediaTypeOf,
  type RegistryConnection,
  type RegistryRequest,
  readCapped,
  send,
} from './registry-http.ts';
import { blobExists, uploadBlob } from './registry-upload.ts';
import { serialized } from './serial.ts';
import {
  type BlobRef,
  type BlobSource,
  DEFAULT_MAX_MANIFEST_BYTES,
  type FetchedManifest,
  type OciStore,
} from './store.ts';

export interface RegistryStoreOptions {
  /** The registry's base URL: `https://registry.example.com`, `http://127.0.0.1:5000` (no path). */
  url: string;
  credentials?: RegistryCredentials;
  /** Upload size per request; a larger blob is sent in chunks of this size. Default 16 MiB. */
  chunkBytes?: number;
  /** How long a request may wait for headers. Default 30 s. */
  timeoutMs?: number;
  /** Retries of GET and HEAD on transient trouble. Default 2 (three tries in all). */
  retries?: number;
  /** First retry's delay; doubled each time. Default 250 ms. */
  backoffMs?: number;
  /** A `fetch` of the caller's (e.g. one bound to an undici dispatcher with a private CA). */
  fetch?: typeof fetch;
}

function registryOrigin(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OciError('invalid', `registry URL ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new OciError('invalid', `registry URL ${url}: only https: and http: are supported`);
  }
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.username) {
    throw new OciError('invalid', `registry URL ${url}: give only scheme, host and port (credentials apart)`);
  }
  return new URL(parsed.origin);
}

/** Opens the registry at `options.url`; nothing is sent until the first operation. */
export function openRegistryStore(options: RegistryStoreOptions): OciStore {
  const origin = registryOrigin(options.url);
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const chunkBytes = options.chunkBytes ?? 16 * 1024 * 1024;
  const connection: RegistryConnection = {
    origin,
    auth: new RegistryAuth(origin, options.credentials, fetchImpl, timeoutMs),
    fetch: fetchImpl,
    timeoutMs,
    retries: options.retries ?? 2,
    backoffMs: options.backoffMs ?? 250,
  };
  const request = (fields: RegistryRequest) => send(connection, fields);

  async function getManifest(
    repository: string,
    reference: string,
    maxBytes: number,
    expected: Digest | undefined,
  ): Promise<FetchedManifest> {
    const what = `manifest ${reference}`;
    const response = await request({
      method: 'GET',
      url: `/v2/${repository}/manifests/${reference}`,
      repository,
      push: false,
      what,
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    });
    const target = describeTarget(connection, { what, repository });
    const bytes = await readCapped(response, maxBytes, target);
    const digest = digestOf(bytes);
    const claimed = expected ?? response.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) {
      throw new OciError(
        'digest-mismatch',
        `${target}: the bytes answered hash to ${digest}, not to ${claimed}`,
      );
    }
    const mediaType = mediaTypeOf(response.headers.get('content-type')) ?? OCI_MANIFEST;
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  async function readFallbackIndex(repository: string, subject: Digest): Promise<ImageIndex | undefined> {
    const tag = referrersTag(subject);
    try {
      const fetched = await getManifest(repository, tag, DEFAULT_MAX_MANIFEST_BYTES, undefined);
      return parseImageIndex(
        fetched.bytes,
        `referrers index ${tag} in repository ${repository} at ${origin.origin}`,
      );
    } catch (error) {
      if (error instanceof OciError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  /** Lists `referrer` in the subject's fallback tag index; serialised per subject in this process. */
  function recordReferrer(repository: string, subject: Digest, referrer: Descriptor): Promise<void> {
    return serialized(`${origin.origin}/${repository}@${subject}`, async () => {
      const index = await readFallbackIndex(repository, subject);
      if (listsReferrer(index, referrer)) return;
      const bytes = Buffer.from(JSON.stringify(withReferrer(index, referrer)));
      await putManifest(repository, referrersTag(subject), OCI_INDEX, bytes);
    });
  }

  async function putManifest(repository: string, reference: string, mediaType: string, bytes: Uint8Array) {
    const response = await request({
      method: 'PUT',
      url: `/v2/${repository}/manifests/${reference}`,
      repository,
      push: true,
      what: `manifest ${reference}`,
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    await response.body?.cancel();
    return response;
  }

  return {
    describe: () => `registry ${origin.origin} (${connection.auth.who()})`,

    async pushBlob(repository, source: BlobSource, options = {}) {
      const ref: BlobRef =
        'bytes' in source
          ? { digest: digestOf(source.bytes), size: source.bytes.length }
          : await digestFile(source.path);
      if (options.expected !== undefined && ref.digest !== options.expected) {
        throw new OciError(
          'digest-mismatch',
          `blob for repository ${repository} hashes to ${ref.digest}, not ${options.expected}`,
        );
      }
      await uploadBlob(connection, repository, source, ref, chunkBytes);
      return ref;
    },

    async hasBlob(repository, digest) {
      assertDigest(digest);
      return blobExists(connection, repository, digest);
    },

    async fetchBlob(repository, digest, targetPath, fetchOptions) {
      assertDigest(digest);
      const what = `blob ${digest}`;
      const response = await request({
        method: 'GET',
        url: `/v2/${repository}/blobs/${digest}`,
        repository,
        push: false,
        what,
      });
      const target = describeTarget(connection, { what, repository });
      const declared = Number(response.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > fetchOptions.maxBytes) {
        await response.body?.cancel();
        throw new OciError(
          'too-large',
          `${target} is ${declared} bytes, over the ${fetchOptions.maxBytes}-byte limit`,
        );
      }
      const body = response.body ? Readable.fromWeb(response.body as WebReadableStream) : Readable.from([]);
      return writeStreamVerified(body, targetPath, {
        expected: digest,
        ...(fetchOptions.expectedSize !== undefined ? { expectedSize: fetchOptions.expectedSize } : {}),
        maxBytes: fetchOptions.maxBytes,
        what: target,
      }).catch((error: unknown) => {
        // The local disk's trouble (no space, no permission) is not the registry's: passed on as is.
        if (error instanceof OciError || (error as NodeJS.ErrnoException).syscall !== undefined) throw error;
        throw new OciError('transient', `${target}: reading the body failed: ${(error as Error).message}`, {
          cause: error,
        });
      });
    },

    async pushManifest(repository, manifest, pushOptions = {}) {
      if (pushOptions.tag !== undefined) assertTag(pushOptions.tag);
      const digest = digestOf(manifest.bytes);
      const what = `manifest ${digest} for repository ${repository} at ${origin.origin}`;
      let parsed: ReturnType<typeof parseImageManifest> | undefined;
      if (manifest.mediaType === OCI_MANIFEST) parsed = parseImageManifest(manifest.bytes, what);
      else if (manifest.mediaType === OCI_INDEX) parseImageIndex(manifest.bytes, what);
      else
        throw new OciError(
          'invalid',
          `${what}: media type ${manifest.mediaType} is neither an OCI manifest nor an index`,
        );
      const response = await putManifest(repository, digest, manifest.mediaType, manifest.bytes);
      const answered = response.headers.get('docker-content-digest');
      if (answered && answered !== digest) {
        throw new OciError('digest-mismatch', `${what}: the registry stored it as ${answered}`);
      }
      if (pushOptions.tag !== undefined)
        await putManifest(repository, pushOptions.tag, manifest.mediaType, manifest.bytes);
      const descriptor: Descriptor = {
        mediaType: manifest.mediaType,
        digest,
        size: manifest.bytes.length,
        ...(parsed?.artifactType !== undefined ? { artifactType: parsed.artifactType } : {}),
      };
      // A registry with the referrers API says so by naming the subject it indexed.
      if (parsed?.subject && !response.headers.get('oci-subject')) {
        await recordReferrer(repository, parsed.subject.digest, referrerDescriptor(parsed, descriptor));
      }
      return descriptor;
    },

    async fetchManifest(repository, reference, fetchOptions = {}) {
      const maxBytes = fetchOptions.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
      if ('digest' in reference) {
        assertDigest(reference.digest);
        return getManifest(repository, reference.digest, maxBytes, reference.digest);
      }
      assertTag(reference.tag);
      return getManifest(repository, reference.tag, maxBytes, undefined);
    },

    async listReferrers(repository, digest, listOptions = {}) {
      assertDigest(digest);
      const url = new URL(`/v2/${repository}/referrers/${digest}`, origin);
      if (listOptions.artifactType !== undefined)
        url.searchParams.set('artifactType', listOptions.artifactType);
      const response = await request({
        method: 'GET',
        url,
        repository,
        push: false,
        what: `referrers of ${digest}`,
        headers: { accept: OCI_INDEX },
        accept: [404],
      });
      let index: ImageIndex | undefined;
      if (response.status === 404) {
        await response.body?.cancel();
        index = await readFallbackIndex(repository, digest);
      } else {
        const target = describeTarget(connection, { what: `referrers of ${digest}`, repository });
        index = parseImageIndex(await readCapped(response, DEFAULT_MAX_MANIFEST_BYTES, target), target);
      }
      // Filtered here too: a registry may ignore the filter (it says so in OCI-Filters-Applied).
      return filterReferrers(index?.manifests ?? [], listOptions.artifactType);
    },
  };
}
