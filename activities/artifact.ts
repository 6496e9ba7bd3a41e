/**
 * `resolveArtifact`: fetch the model bytes a spec points at, verify them against the pinned
 * digest, and keep them in a content-addressed store (`<home>/artifacts/sha256/<hex>`) that the
 * later steps read from. A later step may run on another worker with its own store: it asks
 * `localCopy`, which fetches and verifies the same source again there.
 *
 * Idempotent by construction: the store key is the digest, bytes land under a temporary name
 * and are renamed into place only once verified, and an existing store entry is re-hashed before
 * it is reused, so a retry after a crash at any point converges on the same file.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { DeploymentRef } from '../domain/deployment.ts';
import { type FileDigest, hasErrorCode, isWithin } from '../model/files.ts';
import { OciError } from '../oci/errors.ts';
import type { OciReference } from '../oci/reference.ts';
import type { RegistryCredentials } from '../oci/registry-auth.ts';
import { cappedStream, openHttpsSource, SourceFetchError } from '../sources/https-source.ts';
import { fetchOciModel, parseOciSource } from '../sources/oci-source.ts';
import { domainFailure, FailureType } from './failures.ts';
import { cancellationSignal, sha256FileHeartbeating, writeStreamHeartbeating } from './heartbeat.ts';
import type { SourceTrees } from './source-tree.ts';

export interface ResolveArtifactInput {
  deployment: DeploymentRef;
  /** `spec.model.source`: a path in the deployment's commit, a `file://` or an `https://` URI. */
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
  /** The trees of deployments' commits, for sources that are paths in the repository. */
  trees: SourceTrees;
  /** `fetch` for https sources; injectable so tests need no TLS server. */
  fetch?: typeof fetch;
  /**
   * Largest model file this worker downloads or copies (default {@link DEFAULT_MAX_ARTIFACT_BYTES}):
   * a cap that protects the worker's disk from a source that never ends. Whether a model may ship
   * at its size is the policy's scan limit, checked later.
   */
  maxBytes?: number;
  /** How long an https source may take to answer with headers (default 30 s). */
  headersTimeoutMs?: number;
  /** The worker's credentials for an `oci://` source's registry host, if it has any. */
  registryCredentials?: (host: string) => RegistryCredentials | undefined;
}

/** 4 GiB: above the largest policy scan limit a tabular or mid-sized network needs. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 4 * 1024 ** 3;

/** Where a source points once resolved: a local file, an https URL or an OCI artifact. */
type Location =
  | { kind: 'file'; path: string }
  | { kind: 'https'; url: URL }
  | { kind: 'oci'; reference: OciReference };

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Resolves `source`: a URI as it is, a path against the tree of the deployment's commit (fetched
 * only for such a source). Unsupported or escaping sources are domain failures.
 */
async function locateSource(source: string, tree: () => Promise<string>): Promise<Location> {
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
  if (scheme === 'oci') {
    try {
      return { kind: 'oci', reference: parseOciSource(source) };
    } catch (error) {
      throw domainFailure(FailureType.UnsupportedSource, (error as Error).message, { source });
    }
  }
  if (scheme !== undefined) {
    throw domainFailure(
      FailureType.UnsupportedSource,
      `unsupported source scheme "${scheme}:" in "${source}"; use a path relative to the repository, file://, https:// or oci://`,
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
  const root = resolve(await tree());
  const path = resolve(root, source);
  // The digest would catch foreign bytes anyway; refusing early keeps a spec from probing the
  // worker's file system through error messages.
  if (!isWithin(root, path)) {
    throw domainFailure(FailureType.UnsupportedSource, `source "${source}" escapes the repository root`, {
      source,
      resolved: path,
    });
  }
  return { kind: 'file', path };
}

/**
 * A source error as the activity reports it: an answer that cannot become the file is a domain
 * failure; network trouble and server errors retry under the activity's policy.
 */
function asSourceFailure(error: unknown, source: string): unknown {
  if (error instanceof OciError) return ociSourceFailure(error, source);
  if (!(error instanceof SourceFetchError)) return error;
  const details = { source, ...(error.status === undefined ? {} : { status: error.status }) };
  switch (error.kind) {
    case 'not-found':
    case 'refused':
      return domainFailure(FailureType.ArtifactNotFound, error.message, details);
    case 'too-large':
      return domainFailure(FailureType.ArtifactTooLarge, error.message, details);
    default:
      return error;
  }
}

/** An `oci://` source's error as the activity reports it; a registry that is down or refuses the login retries. */
function ociSourceFailure(error: OciError, source: string): unknown {
  const details = { source, kind: error.kind };
  switch (error.kind) {
    case 'not-found':
      return domainFailure(FailureType.ArtifactNotFound, error.message, details);
    case 'too-large':
      return domainFailure(FailureType.ArtifactTooLarge, error.message, details);
    case 'digest-mismatch':
      return domainFailure(FailureType.DigestMismatch, error.message, details);
    case 'invalid':
    case 'refused':
      return domainFailure(FailureType.UnsupportedSource, error.message, details);
    default:
      return error;
  }
}

/**
 * This worker's content-addressed store of model files. `resolve` fetches and verifies a source;
 * `localCopy` gives the path of a file an earlier activity resolved, fetching it again when that
 * activity ran on another worker (no worker shares a disk with another).
 */
export interface ArtifactStore {
  resolve(input: ResolveArtifactInput): Promise<ResolvedArtifact>;
  localCopy(deployment: DeploymentRef, artifact: ResolvedArtifact): Promise<string>;
}

/** Builds the artifact store of a worker. */
export function createArtifactStore(deps: ArtifactDeps): ArtifactStore {
  const storeDir = join(deps.home, 'artifacts', 'sha256');
  const fetchImpl = deps.fetch ?? fetch;
  const maxBytes = deps.maxBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;

  /** Opens the source as a byte stream, mapping "not there" to ArtifactNotFound. */
  async function open(location: Location, source: string): Promise<{ stream: Readable; where: string }> {
    if (location.kind === 'oci') {
      // The layer is verified against its descriptor as it lands in a scratch directory of the
      // store, then read like a file (and hashed again against the spec's pin).
      const workDir = join(storeDir, `.tmp-oci-${randomUUID()}`);
      await mkdir(workDir);
      try {
        const path = await fetchOciModel(location.reference, {
          maxBytes,
          workDir,
          ...(deps.registryCredentials ? { credentialsFor: deps.registryCredentials } : {}),
        });
        const stream = createReadStream(path);
        stream.once('close', () => void rm(workDir, { recursive: true, force: true }));
        return { stream, where: source };
      } catch (error) {
        await rm(workDir, { recursive: true, force: true });
        throw asSourceFailure(error, source);
      }
    }
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
      if (info.size > maxBytes) {
        throw domainFailure(
          FailureType.ArtifactTooLarge,
          `model file ${location.path} is ${info.size} bytes, over this worker's ${maxBytes}-byte limit (source "${source}")`,
          { source, sizeBytes: info.size, maxBytes },
        );
      }
      return { stream: createReadStream(location.path), where: location.path };
    }
    const signal = cancellationSignal();
    try {
      const stream = await openHttpsSource(location.url, {
        maxBytes,
        headersTimeoutMs: deps.headersTimeoutMs ?? 30_000,
        fetch: fetchImpl,
        ...(signal ? { signal } : {}),
      });
      return { stream, where: location.url.href };
    } catch (error) {
      throw asSourceFailure(error, source);
    }
  }

  /** Copies the stream to a temp file in the store while hashing it, stopping at the cap. */
  async function download(stream: Readable, temp: string, source: string): Promise<FileDigest> {
    try {
      return await writeStreamHeartbeating(
        cappedStream(stream, maxBytes, `"${source}"`),
        temp,
        'downloadedBytes',
      );
    } catch (error) {
      throw asSourceFailure(error, source);
    }
  }

  /** Resolves, verifies and stores the model file; see the module comment for the guarantees. */
  async function resolveSource(input: ResolveArtifactInput): Promise<ResolvedArtifact> {
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
    const location = await locateSource(source, () => deps.trees.treeOf(deployment));
    await mkdir(storeDir, { recursive: true });
    const target = join(storeDir, expected);
    const temp = join(storeDir, `.tmp-${randomUUID()}`);
    try {
      const { stream, where } = await open(location, source);
      const actual = await download(stream, temp, source);
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
  }

  return {
    resolve: resolveSource,
    async localCopy(deployment, artifact) {
      const path = join(storeDir, artifact.sha256);
      // Readers verify the digest of what they read, so presence is enough here.
      const present = await stat(path).then(
        (info) => info.isFile(),
        () => false,
      );
      if (present) return path;
      return (await resolveSource({ deployment, source: artifact.source, sha256: artifact.sha256 })).path;
    },
  };
}

/** Builds the artifact activities. */
export function createArtifactActivities(deps: ArtifactDeps | { store: ArtifactStore }) {
  const store = 'store' in deps ? deps.store : createArtifactStore(deps);
  return {
    /** Resolves, verifies and stores the model file; see the module comment for the guarantees. */
    resolveArtifact: (input: ResolveArtifactInput): Promise<ResolvedArtifact> => store.resolve(input),
  };
}
