/**
 * `packageModel`: an immutable, content-addressed bundle `<home>/bundles/<digest>/` holding
 * `model.onnx`, `spec.yaml` (the spec as committed) and `manifest.json`, which carries the
 * validation's reports and the holdout's reference profile (`referenceProfile`) that the data
 * plane bins live traffic against, and `MODEL_CARD.md` for people (listed in the manifest with
 * its sha256, outside the digest like the manifest, for the same reason).
 *
 * The bundle digest covers the content files (sorted `path\tsha256\n` lines) and the spec's
 * commit, never the manifest: the manifest carries measurements (latency) and a creation time
 * that differ between attempts, and a retry must land on the same bundle. Consequence, by
 * design: the first manifest written for a digest wins and a retry reuses it. The commit is in
 * the digest so that a manifest never names another commit than the one being deployed.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import {
  BUNDLE_FILES,
  BUNDLE_MANIFEST_SCHEMA_VERSION,
  type BundleFile,
  type BundleManifest,
  MANIFEST_FILE,
  MODEL_CARD_FILE,
  MODEL_FILE,
  parseBundleManifest,
  parseLooseBundleManifest,
  REQUIRED_BUNDLE_FILES,
  SPEC_FILE,
} from '../domain/bundle-format.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { hasErrorCode, sha256Hex, writeFileAtomic } from '../model/files.ts';
import type { ScanReport } from '../model/scan.ts';
import type { ValidationReport } from '../model/validation-report.ts';
import { type BundleStores, bundleStores } from '../oci/environment-stores.ts';
import { parseSpec } from '../specs/parse.ts';
import { modelCardMarkdown } from '../supply-chain/evidence/model-card.ts';
import type { ArtifactStore, ResolvedArtifact } from './artifact.ts';
import { writeEvidence } from './evidence.ts';
import { type EvidenceKey, loadEvidenceKey } from './evidence-key.ts';
import { domainFailure, FailureType } from './failures.ts';
import { sha256FileHeartbeating, writeStreamHeartbeating } from './heartbeat.ts';
import { type PublishedBundle, publishBundle } from './publish-bundle.ts';
import type { PolicyReport, SupplyChainReport } from './supply-chain.ts';

export interface PackageModelInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  /** The spec file's text exactly as committed. */
  specText: string;
  validation: ValidationReport;
  scan: ScanReport;
  /** Signatures and secrets (absent in runs from before the supply-chain gates). */
  supplyChain?: SupplyChainReport;
  /** The environment policy's verdicts (absent in runs from before the supply-chain gates). */
  policy?: PolicyReport;
}

export interface ModelBundle {
  /** sha256 over the content listing; also the bundle's directory name. */
  digest: string;
  /** Absolute path of the bundle directory. */
  path: string;
  manifestPath: string;
  /** The content files (`model.onnx`, `spec.yaml`), sorted by path. */
  files: BundleFile[];
  /** The bundle as an OCI artifact in the environment's store (absent in runs from before it was pushed). */
  published?: PublishedBundle;
}

/** modelship's own version, for the evidence (the tool that made the bundle). */
const MODELSHIP_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The bundle digest: sha256 of the sorted `path\tsha256\n` lines of the content files, then `commit\t<sha>\n`. */
export function bundleDigest(files: readonly BundleFile[], commit: string): string {
  const lines = files.map((file) => `${file.path}\t${file.sha256}\n`).sort();
  return sha256Hex(`${lines.join('')}commit\t${commit}\n`);
}

/** Copies the stored model into the bundle while hashing it, so a damaged store copy cannot slip in. */
async function copyVerified(from: string, to: string, expected: string): Promise<void> {
  const { sha256: actual } = await writeStreamHeartbeating(createReadStream(from), to, 'copiedBytes');
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
  // Evidence files are optional (no provenance for an uncommitted spec); nothing else may be there.
  const unexpected = entries.some((entry) => !BUNDLE_FILES.includes(entry));
  const missing = REQUIRED_BUNDLE_FILES.some((entry) => !entries.includes(entry));
  if (unexpected || missing) {
    problems.push(`holds [${entries.join(', ')}] instead of [${BUNDLE_FILES.join(', ')}]`);
  }
  for (const file of expected) {
    const actual = await sha256FileHeartbeating(join(dir, file.path)).catch(() => undefined);
    if (actual?.sha256 !== file.sha256) {
      problems.push(`${file.path} has sha256 ${actual?.sha256 ?? '(unreadable)'}, expected ${file.sha256}`);
    }
  }
  // Loose: a bundle packaged by an earlier version is reused as long as it names this digest.
  const json = await readFile(join(dir, MANIFEST_FILE), 'utf8')
    .then((text) => JSON.parse(text) as unknown)
    .catch(() => undefined);
  const manifest = json === undefined ? undefined : parseLooseBundleManifest(json);
  if (!manifest?.ok || manifest.manifest.digest !== digest)
    problems.push(`${MANIFEST_FILE} is missing, unreadable or names another digest`);
  // The card is outside the digest, so the manifest's sha256 of it is what keeps it honest.
  const card = (json as { modelCard?: { sha256?: unknown } } | undefined)?.modelCard;
  if (card && typeof card.sha256 === 'string') {
    const actual = await sha256FileHeartbeating(join(dir, MODEL_CARD_FILE)).catch(() => undefined);
    if (actual?.sha256 !== card.sha256) {
      problems.push(
        `${MODEL_CARD_FILE} has sha256 ${actual?.sha256 ?? '(unreadable)'}, but ${MANIFEST_FILE} says ${card.sha256}`,
      );
    }
  }
  return problems;
}

function currentRun(): { workflowId: string; runId: string } {
  try {
    const { workflowExecution } = Context.current().info;
    if (workflowExecution)
      return { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId };
    return { workflowId: 'none', runId: 'none' };
  } catch {
    // Called outside an activity (tests, tools): the evidence names no workflow run.
    return { workflowId: 'none', runId: 'none' };
  }
}

/** Builds the package activities; evidence is signed with `evidenceKey` (default: the home's own key). */
export function createPackageActivities(deps: {
  home: string;
  /** This worker's model files (fetched again here when another worker resolved them). */
  artifacts: ArtifactStore;
  evidenceKey?: () => Promise<EvidenceKey>;
  /** Each environment's OCI store (default: the embedded layout under `<home>/oci` for all). */
  stores?: BundleStores;
}) {
  const bundlesDir = join(deps.home, 'bundles');
  const stores = deps.stores ?? bundleStores({ home: deps.home });
  let key: Promise<EvidenceKey> | undefined;
  const evidenceKey = () => {
    key ??= (deps.evidenceKey ?? (() => loadEvidenceKey({ home: deps.home })))();
    return key;
  };

  return {
    /**
     * Creates (or reuses) the bundle for this artifact and spec text, then publishes it to the
     * environment's OCI store (`publish-bundle.ts`); see the module comment.
     */
    async packageModel(input: PackageModelInput): Promise<ModelBundle> {
      const bundle = await materialise(input);
      const published = await publishBundle(stores, {
        deployment: input.deployment,
        bundleDir: bundle.path,
        bundleDigest: bundle.digest,
      });
      return { ...bundle, published };
    },
  };

  /** The bundle directory for this artifact and spec text, created or reused. */
  async function materialise(input: PackageModelInput): Promise<ModelBundle> {
    const startedOn = new Date().toISOString();
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
      await copyVerified(
        await deps.artifacts.localCopy(deployment, artifact),
        join(temp, MODEL_FILE),
        artifact.sha256,
      );
      await writeFileAtomic(join(temp, SPEC_FILE), specText);
      const createdAt = new Date().toISOString();
      const scanners = {
        'modelship-onnx-scan': MODELSHIP_VERSION,
        ...(input.supplyChain?.scanners ?? {}),
      };
      const parsed = parseSpec(specText, { file: deployment.specPath });
      if (!parsed.ok) {
        throw domainFailure(FailureType.InvalidSpec, parsed.errors.map((e) => e.message).join('; '));
      }
      const spec = parsed.spec;
      // The profile has a place of its own in the manifest, where the data plane reads it.
      const { profile, ...report } = input.validation;
      const evidence = await writeEvidence(
        temp,
        {
          facts: {
            model: deployment.model,
            environment: deployment.environment,
            spec: { path: deployment.specPath, commit: deployment.commit },
            bundle: { digest, files },
            artifact: { source: artifact.source, sha256: artifact.sha256 },
            ...(spec.spec.provenance ? { provenance: spec.spec.provenance } : {}),
            versions: {
              modelship: MODELSHIP_VERSION,
              onnxruntime: input.validation.onnxruntimeVersion,
              scanners,
            },
          },
          spec,
          validation: input.validation,
          ...(profile ? { profile } : {}),
          scan: input.scan,
          ...(input.policy
            ? {
                policy: {
                  passed: input.policy.passed,
                  summary: `${input.policy.results.length} rule(s) of ${input.policy.file} passed`,
                },
              }
            : {}),
          holdout: { path: spec.spec.validation.holdout.path, sha256: input.validation.holdoutSha256 },
          run: currentRun(),
          createdAt,
          startedOn,
        },
        await evidenceKey(),
      );
      const card = modelCardMarkdown({
        model: deployment.model,
        environment: deployment.environment,
        ...(spec.metadata.description ? { description: spec.metadata.description } : {}),
        owners: spec.metadata.owners,
        ...(spec.metadata.modelCard ? { card: spec.metadata.modelCard } : {}),
        interface: spec.spec.interface,
        validation: input.validation,
        holdoutPath: spec.spec.validation.holdout.path,
        ...(spec.spec.provenance ? { provenance: spec.spec.provenance } : {}),
        spec: { path: deployment.specPath, commit: deployment.commit },
        bundleDigest: digest,
        artifact: { source: artifact.source, sha256: artifact.sha256 },
        createdAt,
      });
      await writeFileAtomic(join(temp, MODEL_CARD_FILE), card);
      const modelCard = {
        path: MODEL_CARD_FILE,
        sha256: sha256Hex(card),
        sizeBytes: Buffer.byteLength(card),
      };
      const manifest: BundleManifest = {
        schemaVersion: BUNDLE_MANIFEST_SCHEMA_VERSION,
        digest,
        model: deployment.model,
        environment: deployment.environment,
        spec: { commit: deployment.commit, path: deployment.specPath },
        artifact: { source: artifact.source, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
        files,
        validation: report,
        scan: input.scan,
        supplyChain: input.supplyChain ?? null,
        policy: input.policy ?? null,
        onnxruntimeVersion: input.validation.onnxruntimeVersion,
        scanners,
        evidence,
        modelCard,
        ...(profile ? { referenceProfile: profile } : {}),
        createdAt,
      };
      const checked = parseBundleManifest(manifest);
      if (!checked.ok) {
        throw new Error(
          `the bundle manifest does not validate (a modelship bug): ${checked.errors.join('; ')}`,
        );
      }
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
  }
}
