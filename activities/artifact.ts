/**
 * `resolveArtifact`: fetch the model bytes a spec points at, verify them against the pinned
 * digest, and keep them in a content-addressed store (`<home>/artifacts/sha256/<hex>`) that the
 * later steps read from.
 *
 * Idempotent by construction: the store key is the digest, bytes land under a temporary name
 * and are renamed into place only once verified, and an existing store entry is re-hashed before
 * it is reused, so a retry after a crash at any point converges on the same file.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import type { DeploymentRef } from '../domain/deployment.ts';
import { type FileDigest, hasErrorCode, isWithin } from '../model/files.ts';
import { domainFailure, FailureType } from './failures.ts';
import { cancellationSignal, sha256FileHeartbeating, writeStreamHeartbeating } from './heartbeat.ts';

interface ResolveArtifactInput {
  deployment: DeploymentRef;
  /** `spec.model.source`: a path relative to the repository root, a `file://` or an `https://` URI. */
  source: string;
  /** `spec.model.sha256`: the digest the bytes must have. */
  sha256: string;
}

/** A verified model file in the content-addressed store; every later step reads `path`. */
export interface ResolvedArtifact {
  /** sha256 of the bytes, lowercase hex (equal to the pinned digest). */
  sha256: string;
  /** Absolute path of the read-only store copy, `<home>/artifacts/sha256/<sha256>`. */
  path: string;
  sizeBytes: number;
  /** The source as the spec wrote it, for messages and the audit. */
  source: string;
}

interface ArtifactDeps {
  /** Absolute MODELSHIP_HOME. */
  home: string;
  /** `fetch` for https sources; injectable so tests need no TLS server. */
  fetch?: typeof fetch;
}

/** Where a source points once resolved: a local file or an https URL. */
type Location = { kind: 'file'; path: string } | { kind: 'https'; url: URL };

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** Resolves `source` against the repository root; unsupported or escaping sources are domain failures. */
function locateSource(source: string, repoRoot: string): Location {
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'file') {
    try {
      return { kind: 'file', path: fileURLToPath(source) };
    } catch (error) {
      throw domainFailure(
        FailureType.UnsupportedSource,
        `invalid file URI "${source}": ${(error as Error).message}`,
        {
          source,
        },
      );
    }
  }
  if (scheme === 'https') return { kind: 'https', url: new URL(source) };
  if (scheme !== undefined) {
    throw domainFailure(
      FailureType.UnsupportedSource,
      `unsupported source scheme "${scheme}:" in "${source}"; use a path relative to the repository, file:// or https://`,
      { source, scheme },
    );
  }
  if (isAbsolute(source)) {
    throw domainFailure(
      FailureType.UnsupportedSource,
      `source "${source}" is an absolute path; write it relative to the repository root, or as a file:// URI`,
      { source },
    );
  }
  const root = resolve(repoRoot);
  const path = resolve(root, source);
  // The digest would catch foreign bytes anyway; refusing early keeps a spec from probing the
  // worker's file system through error messages.
  if (!isWithin(root, path)) {
    throw domainFailure(
      FailureType.UnsupportedSource,
      `source "${source}" escapes the repository root ${root}`,
      {
        source,
        resolved: path,
      },
    );
  }
  return { kind: 'file', path };
}

/** Builds the artifact activities. */
export function createArtifactActivities(deps: ArtifactDeps) {
  const storeDir = join(deps.home, 'artifacts', 'sha256');
  const fetchImpl = deps.fetch ?? fetch;

  /** Opens the source as a byte stream, mapping "not there" to ArtifactNotFound. */
  async function open(location: Location, source: string): Promise<{ stream: Readable; where: string }> {
    if (location.kind === 'file') {
      const info = await stat(location.path).catch((error: unknown) => {
        if (hasErrorCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
        throw error;
      });
      if (!info?.isFile()) {
        const what = info ? 'is not a regular file' : 'does not exist';
        throw domainFailure(
          FailureType.ArtifactNotFound,
          `model file ${location.path} ${what} (source "${source}")`,
          {
            source,
            resolved: location.path,
          },
        );
      }
      return { stream: createReadStream(location.path), where: location.path };
    }
    const signal = cancellationSignal();
    // Network errors (DNS, reset, timeout) propagate as plain errors: retryable by design.
    const response = await fetchImpl(location.url, signal ? { signal } : {});
    if (response.status === 404 || response.status === 410) {
      throw domainFailure(FailureType.ArtifactNotFound, `${location.url.href} answered ${response.status}`, {
        source,
        status: response.status,
      });
    }
    if (!response.ok || !response.body) {
      throw new Error(`fetching ${location.url.href} failed with HTTP ${response.status}`);
    }
    return { stream: Readable.fromWeb(response.body as WebReadableStream), where: location.url.href };
  }

  /** Copies the stream to a temp file in the store while hashing it. */
  function download(stream: Readable, temp: string): Promise<FileDigest> {
    return writeStreamHeartbeating(stream, temp, 'downloadedBytes');
  }

  return {
    /** Resolves, verifies and stores the model file; see the module comment for the guarantees. */
    async resolveArtifact(input: ResolveArtifactInput): Promise<ResolvedArtifact> {
      const { source, deployment } = input;
      const expected = input.sha256.toLowerCase();
      if (!/^[a-f0-9]{64}$/.test(expected)) {
        throw domainFailure(
          FailureType.InvalidSpec,
          `pinned digest "${input.sha256}" is not a sha256 hex digest`,
          {
            source,
          },
        );
      }
      const location = locateSource(source, deployment.repoRoot);
      await mkdir(storeDir, { recursive: true });
      const target = join(storeDir, expected);
      const temp = join(storeDir, `.tmp-${randomUUID()}`);
      try {
        const { stream, where } = await open(location, source);
        const actual = await download(stream, temp);
        if (actual.sha256 !== expected) {
          throw domainFailure(
            FailureType.DigestMismatch,
            `digest mismatch for "${source}" (${where}): the spec pins sha256 ${expected}, the bytes have sha256 ${actual.sha256} (${actual.sizeBytes} bytes)`,
            { source, resolved: where, expected, actual: actual.sha256, sizeBytes: actual.sizeBytes },
          );
        }
        const existing = await sha256FileHeartbeating(target).catch((error: unknown) => {
          if (hasErrorCode(error, 'ENOENT')) return undefined;
          throw error;
        });
        // Reuse an intact store entry (another deployment or an earlier attempt put it there);
        // a damaged one is replaced atomically by the verified temp file.
        if (existing?.sha256 !== expected) {
          await chmod(temp, 0o444);
          await rename(temp, target);
        }
        return { sha256: expected, path: target, sizeBytes: actual.sizeBytes, source };
      } finally {
        await rm(temp, { force: true });
      }
    },
  };
}
