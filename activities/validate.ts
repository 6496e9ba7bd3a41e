/**
 * `validateModel`: load the stored model in onnxruntime-node, check it against
 * `spec.interface`, score it on the holdout CSV (accuracy, macro F1) and time single-row
 * inference (p50, p99). A miss on any threshold, or a slice of the holdout below its floor,
 * stops the rollout before the model sees traffic. The report also carries the deeper analysis
 * (per class, confusion matrix, calibration, slices) and the explanations: permutation importance,
 * run by the same isolated child, and its shift against the stable version's, found through the
 * optional `stableManifests` port (`stable-importance.ts`) and reported, never judged.
 *
 * onnxruntime never runs in the worker. The model is copied (and its digest verified on the way)
 * into a private directory that holds nothing else, scanned there again, and only then loaded,
 * by file path, in a child process with a wall-clock and a memory limit (`onnx/isolation.ts`).
 * The child reports the signature, predictions and latencies; the verdict is computed here, and
 * a passing report carries the holdout's reference profile (`model/profile.ts`) for packaging.
 *
 * The holdout's text is scanned for personal data before it is parsed (`supply-chain/privacy/`):
 * a finding fails as PersonalDataFound unless the policy's `privacy.holdout` allows it, and is
 * shown masked either way.
 *
 * Read-only and deterministic apart from latency, so a retry simply runs again.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { DeploymentRef } from '../domain/deployment.ts';
import type { LatencyOptions } from '../model/feeding.ts';
import { hasErrorCode, isWithin, sha256Hex } from '../model/files.ts';
import { parseHoldoutCsv } from '../model/holdout.ts';
import { evaluateOnHoldout } from '../model/holdout-evaluation.ts';
import { DEFAULT_ISOLATION_LIMITS, type IsolationLimits } from '../model/isolation.ts';
import { describeMetric } from '../model/metrics.ts';
import { profileHoldout } from '../model/profile.ts';
import { type ScanLimits, scanModelFile } from '../model/scan.ts';
import type { InterfaceSpec } from '../model/session.ts';
import type { ValidationReport } from '../model/validation-report.ts';
import type { ValidationSpec } from '../specs/schema.ts';
import { importanceOptions } from '../specs/validation-schema.ts';
import type { HoldoutPrivacy } from '../supply-chain/policy/schema.ts';
import { maskQuotedPersonalData } from '../supply-chain/privacy/holdout-pii.ts';
import { judgeHoldoutPrivacy, maskHoldoutSlices } from '../supply-chain/privacy/holdout-verdict.ts';
import type { ArtifactStore, ResolvedArtifact } from './artifact.ts';
import { asDomainFailure, domainFailure, FailureType } from './failures.ts';
import { cancellationSignal, heartbeat, writeStreamHeartbeating } from './heartbeat.ts';
import { scanFailure } from './scan.ts';
import type { SourceTrees } from './source-tree.ts';
import type { StableManifests } from './stable-importance.ts';
import { compareWithStable } from './validate-report.ts';

export type { ValidationReport } from '../model/validation-report.ts';

export interface ValidateModelInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  interface: InterfaceSpec;
  validation: ValidationSpec;
  /** The environment policy's scan limits, for the scan of the copy that gets loaded. */
  scanLimits?: Partial<ScanLimits>;
  /**
   * The environment policy's `privacy.holdout`: whether personal data in the holdout fails
   * validation (`refuse`, the default when absent) or is recorded masked (`allow`).
   */
  holdoutPrivacy?: HoldoutPrivacy;
}

export interface ValidateDeps {
  /** Absolute MODELSHIP_HOME. */
  home: string;
  /** The trees of deployments' commits, where the holdout is read. */
  trees: SourceTrees;
  /** This worker's model files (fetched again here when another worker resolved them). */
  artifacts: ArtifactStore;
  latency?: Partial<LatencyOptions>;
  /** Holdout rows per `session.run` (default 256). */
  batchSize?: number;
  /** Time and memory limits of the onnxruntime child process (default `DEFAULT_ISOLATION_LIMITS`). */
  isolation?: Partial<IsolationLimits>;
  /** Limits of the scan that gates loading; the same ones the scan step uses. */
  scanLimits?: Partial<ScanLimits>;
  /** Where the private model directories go (default: the OS temp directory). */
  workDir?: string;
  /** Where the stable version's manifest is found, for the importance shift (absent: not compared). */
  stableManifests?: StableManifests;
}

async function readHoldout(tree: string, validation: ValidationSpec, privacyPolicy: HoldoutPrivacy) {
  const { path, labelColumn } = validation.holdout;
  const root = resolve(tree);
  const file = resolve(root, path);
  if (isAbsolute(path) || !isWithin(root, file)) {
    throw domainFailure(FailureType.InvalidSpec, `holdout path "${path}" must stay inside the repository`, {
      path,
    });
  }
  const text = await readFile(file).catch((error: unknown) => {
    if (!hasErrorCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw error;
    throw domainFailure(
      FailureType.ArtifactNotFound,
      `holdout file "${path}" does not exist in the deployment's commit`,
      {
        path,
        resolved: file,
      },
    );
  });
  const csv = text.toString('utf8');
  const verdict = judgeHoldoutPrivacy(csv, path, privacyPolicy);
  if (verdict.refused) {
    const { findings, total, byKind, complete } = verdict.scan;
    throw domainFailure(FailureType.PersonalDataFound, verdict.message, {
      path,
      findings,
      total,
      byKind,
      complete,
    });
  }
  const privacy = verdict.record;
  const parsed = parseHoldoutCsv(csv, labelColumn, path, {
    sliceColumns: (validation.slices ?? []).map((slice) => slice.column),
  });
  if (!parsed.ok) {
    const errors = privacy ? parsed.errors.map(maskQuotedPersonalData) : parsed.errors;
    throw domainFailure(FailureType.InvalidHoldout, `holdout data is unusable: ${errors.join('; ')}`, {
      path,
      errors,
    });
  }
  return {
    data: privacy ? maskHoldoutSlices(parsed.data) : parsed.data,
    sha256: sha256Hex(text),
    ...(privacy ? { privacy } : {}),
  };
}

/**
 * Copies the stored model into `dir/model.onnx`, hashing on the way: the bytes onnxruntime loads
 * are the bytes verified, and nothing else sits beside them for external data to reach.
 */
async function privateCopy(artifact: ResolvedArtifact, stored: string, dir: string): Promise<string> {
  const target = join(dir, 'model.onnx');
  const copied = await writeStreamHeartbeating(createReadStream(stored), target, 'copiedBytes').catch(
    (error: unknown) => {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
      throw domainFailure(FailureType.ArtifactNotFound, `stored artifact ${stored} is missing`, {
        path: stored,
      });
    },
  );
  if (copied.sha256 !== artifact.sha256) {
    throw domainFailure(
      FailureType.DigestMismatch,
      `stored artifact ${stored} has sha256 ${copied.sha256}, expected ${artifact.sha256}`,
      { path: stored, expected: artifact.sha256, actual: copied.sha256 },
    );
  }
  return target;
}

/** Builds the validate activities. */
export function createValidateActivities(deps: ValidateDeps) {
  const isolation: IsolationLimits = { ...DEFAULT_ISOLATION_LIMITS, ...deps.isolation };
  return {
    /**
     * Validates the stored model; see the module comment. Domain failures: ArtifactNotFound and
     * DigestMismatch (store or holdout file), ScanFailed (the gate before loading), InvalidSpec
     * and InvalidHoldout (holdout unusable for this interface), ModelUnloadable (including a
     * child killed by its time or memory limit), InterfaceMismatch, ValidationFailed (details:
     * the full report), PersonalDataFound (the holdout holds personal data the policy refuses;
     * details: the masked findings).
     */
    async validateModel(input: ValidateModelInput): Promise<ValidationReport> {
      const { artifact, deployment, validation } = input;
      const label = `"${artifact.source}" (sha256 ${artifact.sha256.slice(0, 12)}…)`;
      const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), 'modelship-validate-'));
      try {
        const modelPath = await privateCopy(
          artifact,
          await deps.artifacts.localCopy(deployment, artifact),
          dir,
        );
        // The scan step ran before, maybe on another worker: this is the copy that gets loaded.
        const scan = await scanModelFile(modelPath, {
          ...deps.scanLimits,
          ...input.scanLimits,
          expectedSha256: artifact.sha256,
        });
        if (!scan.passed) throw scanFailure(artifact, scan);
        const holdout = await readHoldout(
          await deps.trees.treeOf(deployment),
          validation,
          input.holdoutPrivacy ?? 'refuse',
        );
        const importance = importanceOptions(validation.importance);
        const signal = cancellationSignal();
        const evaluation = await evaluateOnHoldout({
          modelPath,
          label,
          interface: input.interface,
          validation,
          holdout: holdout.data,
          batchSize: deps.batchSize ?? 256,
          latency: deps.latency ?? {},
          isolation,
          onProgress: heartbeat,
          ...(signal ? { signal } : {}),
        }).catch((error: unknown) => {
          throw asDomainFailure(error);
        });
        const { metrics, analysis, slicesFailed, run } = evaluation;
        const explained = evaluation.importance;
        const report: ValidationReport = {
          passed: evaluation.passed,
          metrics,
          latency: run.latency,
          holdoutRows: holdout.data.rows,
          holdoutSha256: holdout.sha256,
          interface: { ok: true },
          onnxruntimeVersion: run.onnxruntimeVersion,
          analysis,
          ...(holdout.privacy ? { privacy: { holdout: holdout.privacy } } : {}),
          ...(explained ? { explanations: { importance: explained } } : {}),
        };
        if (!report.passed) {
          throw domainFailure(
            FailureType.ValidationFailed,
            `model ${label} failed validation on ${report.holdoutRows} holdout rows: ${[...metrics.map(describeMetric), ...slicesFailed].join('; ')}`,
            report,
          );
        }
        const explanations = explained
          ? await compareWithStable(deps.stableManifests, deployment, explained, importance.topK)
          : undefined;
        // Profiled only once the model passed: a failing report travels in the failure's details,
        // where the profile would only add weight.
        return {
          ...report,
          ...(explanations ? { explanations } : {}),
          profile: profileHoldout({
            holdout: holdout.data,
            predictions: run.predictions,
            // planFeeding has checked that the interface has exactly this one input.
            inputName: input.interface.inputs[0]?.name ?? 'input',
            holdoutPath: validation.holdout.path,
            holdoutSha256: holdout.sha256,
            // What the model scored on these rows; latency belongs to the machine, not the data.
            metrics: Object.fromEntries(
              metrics
                .filter((metric) => metric.unit === 'ratio')
                .map((metric) => [metric.name, metric.value]),
            ),
          }),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
