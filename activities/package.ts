/**
 * `packageModel`: an immutable, content-addressed bundle `<home>/bundles/<digest>/` holding
 * `model.onnx`, `spec.yaml` (the spec as committed) and `manifest.json`.
 *
 * The bundle digest covers the content files (sorted `path\tsha256\n` lines) and the spec's
 * commit, never the manifest: the manifest carries measurements (latency) and a creation time
 * that differ between attempts, and a retry must land on the same bundle. Consequence, by
 * design: the first manifest written for a digest wins and a retry reuses it. The commit is in
 * the digest so that a manifest never names another commit than the one being deployed.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedArtifact } from './artifact.ts';
import type { DeploymentRef } from './deployment.ts';
import { hasErrorCode, sha256File, sha256Hex, writeFileAtomic, writeStreamHashing } from './digest.ts';
import { domainFailure, FailureType } from './failures.ts';
import type { ScanReport } from './scan.ts';
import type { ValidationReport } from './validate.ts';

export interface PackageModelInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  /** The spec file's text exactly as committed. */
  specText: string;
  validation: ValidationReport;
  scan: ScanReport;
}

/** A content file of a bundle. */
export interface BundleFile {
  /** Path inside the bundle directory. */
  path: string;
  sha256: string;
  sizeBytes: number;
}

export interface ModelBundle {
  /** sha256 over the content listing; also the bundle's directory name. */
  digest: string;
  /** Absolute path of the bundle directory. */
  path: string;
  manifestPath: string;
  /** The content files (`model.onnx`, `spec.yaml`), sorted by path. */
  files: BundleFile[];
}

export const BUNDLE_MANIFEST_SCHEMA_VERSION = 1;
export const MODEL_FILE = 'model.onnx';
export const SPEC_FILE = 'spec.yaml';
export const MANIFEST_FILE = 'manifest.json';
const BUNDLE_ENTRIES = [MANIFEST_FILE, MODEL_FILE, SPEC_FILE];

/** What `manifest.json` holds. */
export interface BundleManifest {
  schemaVersion: typeof BUNDLE_MANIFEST_SCHEMA_VERSION;
  digest: string;
  model: string;
  environment: string;
  spec: { commit: string; path: string };
  artifact: { source: string; sha256: string; sizeBytes: number };
  files: BundleFile[];
  validation: ValidationReport;
  scan: ScanReport;
  onnxruntimeVersion: string;
  createdAt: string;
}

/** The bundle digest: sha256 of the sorted `path\tsha256\n` lines of the content files, then `commit\t<sha>\n`. */
export function bundleDigest(files: readonly BundleFile[], commit: string): string {
  const lines = files.map((file) => `${file.path}\t${file.sha256}\n`).sort();
  return sha256Hex(`${lines.join('')}commit\t${commit}\n`);
}

/** Copies the stored model into the bundle while hashing it, so a damaged store copy cannot slip in. */
async function copyVerified(from: string, to: string, expected: string): Promise<void> {
  const { sha256: actual } = await writeStreamHashing(createReadStream(from), to, 'copiedBytes');
  if (actual !== expected) {
    throw domainFailure(
      FailureType.DigestMismatch,
      `stored artifact ${from} has sha256 ${actual}, expected ${expected}`,
      {
        path: from,
        expected,
        actual,
      },
    );
  }
  await chmod(to, 0o444);
}

/**
 * Checks that an existing bundle directory holds exactly the expected content; returns the
 * problems found (empty when it can be reused).
 */
async function bundleProblems(
  dir: string,
  expected: readonly BundleFile[],
  digest: string,
): Promise<string[]> {
  const problems: string[] = [];
  const entries = await readdir(dir).then(
    (names) => names.sort(),
    (error: unknown) => {
      if (hasErrorCode(error, 'ENOTDIR')) return ['(not a directory)'];
      throw error;
    },
  );
  if (entries.join('\n') !== BUNDLE_ENTRIES.join('\n')) {
    problems.push(`holds [${entries.join(', ')}] instead of [${BUNDLE_ENTRIES.join(', ')}]`);
  }
  for (const file of expected) {
    const actual = await sha256File(join(dir, file.path)).catch(() => undefined);
    if (actual?.sha256 !== file.sha256) {
      problems.push(`${file.path} has sha256 ${actual?.sha256 ?? '(unreadable)'}, expected ${file.sha256}`);
    }
  }
  const manifest = await readFile(join(dir, MANIFEST_FILE), 'utf8')
    .then((text) => JSON.parse(text) as Partial<BundleManifest>)
    .catch(() => undefined);
  if (manifest?.digest !== digest)
    problems.push(`${MANIFEST_FILE} is missing, unreadable or names another digest`);
  return problems;
}

/** Builds the package activities. */
export function createPackageActivities(deps: { home: string }) {
  const bundlesDir = join(deps.home, 'bundles');

  return {
    /** Creates (or reuses) the bundle for this artifact and spec text; see the module comment. */
    async packageModel(input: PackageModelInput): Promise<ModelBundle> {
      const { artifact, deployment, specText } = input;
      const files: BundleFile[] = [
        { path: MODEL_FILE, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
        { path: SPEC_FILE, sha256: sha256Hex(specText), sizeBytes: Buffer.byteLength(specText) },
      ].sort((a, b) => a.path.localeCompare(b.path));
      const digest = bundleDigest(files, deployment.commit);
      const target = join(bundlesDir, digest);
      const bundle: ModelBundle = { digest, path: target, manifestPath: join(target, MANIFEST_FILE), files };

      const reuse = async (): Promise<ModelBundle> => {
        const problems = await bundleProblems(target, files, digest);
        if (problems.length > 0) {
          throw domainFailure(
            FailureType.BundleConflict,
            `bundle ${target} already exists with other content: ${problems.join('; ')}`,
            { digest, path: target, problems },
          );
        }
        return bundle;
      };

      await mkdir(bundlesDir, { recursive: true });
      const exists = await stat(target).then(
        () => true,
        (error: unknown) => (hasErrorCode(error, 'ENOENT') ? false : Promise.reject(error)),
      );
      if (exists) return reuse();

      const temp = join(bundlesDir, `.tmp-${randomUUID()}`);
      try {
        await mkdir(temp);
        await copyVerified(artifact.path, join(temp, MODEL_FILE), artifact.sha256);
        await writeFileAtomic(join(temp, SPEC_FILE), specText);
        const manifest: BundleManifest = {
          schemaVersion: BUNDLE_MANIFEST_SCHEMA_VERSION,
          digest,
          model: deployment.model,
          environment: deployment.environment,
          spec: { commit: deployment.commit, path: deployment.specPath },
          artifact: { source: artifact.source, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
          files,
          validation: input.validation,
          scan: input.scan,
          onnxruntimeVersion: input.validation.onnxruntimeVersion,
          createdAt: new Date().toISOString(),
        };
        await writeFileAtomic(join(temp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
        try {
          await rename(temp, target);
        } catch (error) {
          // A concurrent attempt renamed its copy first: that one is the bundle now.
          if (!hasErrorCode(error, 'EEXIST', 'ENOTEMPTY')) throw error;
          return await reuse();
        }
        return bundle;
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    },
  };
}
