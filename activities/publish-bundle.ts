/**
 * Publishing a bundle as an OCI artifact in its environment's store, so that data-plane replicas
 * on other machines pull it by digest instead of reading the worker's disk. The store is the
 * environment's registry (`MODELSHIP_REGISTRY_URLS`, `MODELSHIP_REGISTRY_URL`) or, with none
 * configured, the embedded OCI image layout under `<home>/oci` (one machine, `npm start`).
 *
 * The bundle is one artifact (`BUNDLE_ARTIFACT_TYPE`, one layer per file: the content files and
 * the manifest); its signed evidence is a second (`EVIDENCE_ARTIFACT_TYPE`) whose `subject` is
 * the bundle, so it is found through the referrers of the bundle's digest. Both manifests hold
 * nothing that changes between attempts (no timestamps), so a retry or a second worker pushes
 * byte-identical manifests with the same digests: publishing is idempotent.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_ARTIFACT_FILES,
  BUNDLE_ARTIFACT_TYPE,
  bundleRepository,
  EVIDENCE_ARTIFACT_TYPE,
  EVIDENCE_FILES,
  MODEL_CARD_FILE,
  versionForBundle,
  versionTag,
} from '../domain/bundle-format.ts';
import { type DeploymentRef, repositoryOf, withoutCredentials } from '../domain/deployment.ts';
import { attachReferrer, pushArtifact } from '../oci/artifact.ts';
import type { BundleStores } from '../oci/environment-stores.ts';
import { OciError } from '../oci/errors.ts';
import { domainFailure, FailureType } from './failures.ts';

/** Where the bundle went: enough to pull it again and to show a person where it is. */
export interface PublishedBundle {
  /** The store, as a person reads it: `registry http://host:5000` or `OCI layout /path`. */
  store: string;
  repository: string;
  /** Digest of the bundle artifact's manifest (not the bundle digest, which names the content). */
  digest: string;
  /** `oci://host/repository@digest` for a registry; absent for the embedded layout. */
  reference?: string;
  /** Digest of the evidence referrer's manifest; null when the bundle has no evidence files. */
  evidence: string | null;
}

/** An OciError as the activity reports it: only trouble that may pass (`transient`, `unauthorized`) retries. */
function publishFailure(error: OciError, repository: string): unknown {
  if (error.kind === 'transient' || error.kind === 'unauthorized') return error;
  return domainFailure(FailureType.RegistryRefused, error.message, { repository, kind: error.kind });
}

/** Pushes the bundle in `bundleDir` and attaches its evidence; see the module comment. */
export async function publishBundle(
  stores: BundleStores,
  input: { deployment: DeploymentRef; bundleDir: string; bundleDigest: string },
): Promise<PublishedBundle> {
  const { deployment, bundleDir, bundleDigest } = input;
  const { store, host } = stores.storeFor(deployment.environment);
  const repository = bundleRepository(deployment.model);
  const annotations = {
    'org.opencontainers.image.revision': deployment.commit,
    'org.opencontainers.image.source': withoutCredentials(repositoryOf(deployment)),
    'vnd.modelship.bundle.digest': bundleDigest,
    'vnd.modelship.model': deployment.model,
    'vnd.modelship.environment': deployment.environment,
  };
  try {
    const present = new Set(await readdir(bundleDir));
    const bundleFiles = [
      ...BUNDLE_ARTIFACT_FILES,
      ...(present.has(MODEL_CARD_FILE) ? [MODEL_CARD_FILE] : []),
    ];
    const bundle = await pushArtifact(store, {
      repository,
      artifactType: BUNDLE_ARTIFACT_TYPE,
      files: bundleFiles.map((name) => ({ path: join(bundleDir, name), name })),
      annotations,
      tag: versionTag(deployment.environment, versionForBundle(bundleDigest)),
    });
    const evidenceFiles = EVIDENCE_FILES.filter((name) => present.has(name));
    const evidence =
      evidenceFiles.length === 0
        ? null
        : await attachReferrer(store, {
            repository,
            artifactType: EVIDENCE_ARTIFACT_TYPE,
            files: evidenceFiles.map((name) => ({ path: join(bundleDir, name), name })),
            annotations: { 'vnd.modelship.bundle.digest': bundleDigest },
            subject: bundle,
          });
    return {
      store: store.describe(),
      repository,
      digest: bundle.digest,
      ...(host ? { reference: `oci://${host}/${repository}@${bundle.digest}` } : {}),
      evidence: evidence?.digest ?? null,
    };
  } catch (error) {
    throw error instanceof OciError ? publishFailure(error, repository) : error;
  }
}
