/**
 * Blob uploads to a registry, as the distribution spec describes them: a HEAD first, so content
 * the registry has is never uploaded again; then a POST opens an upload session and either one
 * PUT with the bytes closes it (a blob up to `chunkBytes`), or PATCHes of `chunkBytes` each
 * (with `Content-Range`, following each answer's `Location`) and a PUT with `?digest=` close it.
 *
 * Files are read a chunk at a time, so memory stays at one chunk whatever the model's size. The
 * digest was computed before the HEAD; it is computed again from the bytes sent, and a file that
 * changed in between is refused before the upload is closed (the registry, which checks the
 * digest on the closing PUT, would refuse it too). An upload abandoned half-way is left to the
 * registry's purge of stale uploads; a retry starts a new one.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { type Digest, digestOf } from './digest.ts';
import { OciError } from './errors.ts';
import { describeTarget, type RegistryConnection, send } from './registry-http.ts';
import type { BlobRef, BlobSource } from './store.ts';

/** Whether the registry has the blob in `repository` (a HEAD; 404 is "no"). */
export async function blobExists(
  connection: RegistryConnection,
  repository: string,
  digest: Digest,
): Promise<boolean> {
  const response = await send(connection, {
    method: 'HEAD',
    url: `/v2/${repository}/blobs/${digest}`,
    repository,
    push: false,
    what: `blob ${digest}`,
    accept: [404],
  });
  return response.ok;
}

function nextLocation(
  connection: RegistryConnection,
  response: Response,
  repository: string,
  digest: Digest,
) {
  const location = response.headers.get('location');
  if (!location) {
    const where = describeTarget(connection, { what: `upload of blob ${digest}`, repository });
    throw new OciError('refused', `${where}: no Location in the answer`);
  }
  return new URL(location, connection.origin);
}

/** Opens an upload session; returns where to send its bytes. */
async function startUpload(connection: RegistryConnection, repository: string, digest: Digest): Promise<URL> {
  const response = await send(connection, {
    method: 'POST',
    url: `/v2/${repository}/blobs/uploads/`,
    repository,
    push: true,
    what: `upload of blob ${digest}`,
  });
  await response.body?.cancel();
  return nextLocation(connection, response, repository, digest);
}

async function closeUpload(
  connection: RegistryConnection,
  repository: string,
  location: URL,
  digest: Digest,
  body?: Uint8Array,
): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  const response = await send(connection, {
    method: 'PUT',
    url,
    repository,
    push: true,
    what: `blob ${digest}`,
    headers: { 'content-type': 'application/octet-stream' },
    ...(body ? { body } : {}),
  });
  await response.body?.cancel();
  const answered = response.headers.get('docker-content-digest');
  if (answered && answered !== digest) {
    const where = describeTarget(connection, { what: `blob ${digest}`, repository });
    throw new OciError('digest-mismatch', `${where}: stored as ${answered}`);
  }
}

/** Uploads a file a chunk at a time, hashing again as it goes. */
async function uploadFile(
  connection: RegistryConnection,
  repository: string,
  path: string,
  expected: BlobRef,
  chunkBytes: number,
): Promise<void> {
  const changed = () =>
    new OciError(
      'digest-mismatch',
      `${path} changed while it was pushed to ${repository} at ${connection.origin.origin} as ${expected.digest}`,
    );
  const handle = await open(path, 'r');
  try {
    let location = await startUpload(connection, repository, expected.digest);
    if (expected.size <= chunkBytes) {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(expected.size), 0, expected.size, 0);
      if (bytesRead !== expected.size || digestOf(buffer) !== expected.digest) throw changed();
      await closeUpload(connection, repository, location, expected.digest, buffer);
      return;
    }
    const hash = createHash('sha256');
    for (let offset = 0; offset < expected.size; offset += chunkBytes) {
      const length = Math.min(chunkBytes, expected.size - offset);
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, offset);
      if (bytesRead !== length) throw changed();
      hash.update(buffer);
      const range = `${offset}-${offset + length - 1}`;
      const response = await send(connection, {
        method: 'PATCH',
        url: location,
        repository,
        push: true,
        what: `bytes ${range} of blob ${expected.digest}`,
        headers: { 'content-type': 'application/octet-stream', 'content-range': range },
        body: buffer,
      });
      await response.body?.cancel();
      location = nextLocation(connection, response, repository, expected.digest);
    }
    if (`sha256:${hash.digest('hex')}` !== expected.digest) throw changed();
    await closeUpload(connection, repository, location, expected.digest);
  } finally {
    await handle.close();
  }
}

/** Uploads `source`, whose digest and size are `ref`, unless the registry has it already. */
export async function uploadBlob(
  connection: RegistryConnection,
  repository: string,
  source: BlobSource,
  ref: BlobRef,
  chunkBytes: number,
): Promise<void> {
  if (await blobExists(connection, repository, ref.digest)) return;
  if ('path' in source) {
    await uploadFile(connection, repository, source.path, ref, chunkBytes);
    return;
  }
  const location = await startUpload(connection, repository, ref.digest);
  await closeUpload(connection, repository, location, ref.digest, source.bytes);
}
