/**
 * `validateModel`: load the stored model in onnxruntime-node, check it against
 * `spec.interface`, score it on the holdout CSV (accuracy, macro F1) and time single-row
 * inference (p50, p99). A miss on any threshold stops the rollout before the model sees traffic.
 *
 * Read-only and deterministic apart from latency, so a retry simply runs again.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { ValidationSpec } from '../specs/schema.ts';
import type { ResolvedArtifact } from './artifact.ts';
import type { DeploymentRef } from './deployment.ts';
import { hasErrorCode, heartbeat, isWithin, sha256File, sha256Hex } from './digest.ts';
import { domainFailure, FailureType } from './failures.ts';
import { accuracy, describeMetric, f1Macro, judgeMetrics, type MetricResult } from './metrics.ts';
import { type LatencyOptions, type LatencySummary, measureLatency, planFeeding } from './onnx/feeding.ts';
import { type HoldoutData, parseHoldoutCsv } from './onnx/holdout.ts';
import {
  type InterfaceSpec,
  interfaceMismatches,
  loadSession,
  onnxruntimeVersion,
  signatureOf,
} from './onnx/session.ts';

export type { MetricResult } from './metrics.ts';
export type { LatencyOptions, LatencySummary } from './onnx/feeding.ts';

export interface ValidateModelInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  interface: InterfaceSpec;
  validation: ValidationSpec;
}

export interface ValidationReport {
  /** True when every metric with a threshold passed (a failing report travels in ValidationFailed). */
  passed: boolean;
  /** accuracy, f1Macro, latencyP50, latencyP99, each with its threshold when the spec sets one. */
  metrics: MetricResult[];
  latency: LatencySummary;
  holdoutRows: number;
  /** sha256 of the holdout file as read: the spec does not pin it, so the report records it. */
  holdoutSha256: string;
  interface: { ok: true };
  onnxruntimeVersion: string;
}

export interface ValidateDeps {
  /** Absolute MODELSHIP_HOME. */
  home: string;
  latency?: Partial<LatencyOptions>;
  /** Holdout rows per `session.run` (default 256). */
  batchSize?: number;
}

/** Reads and parses the holdout CSV the spec names; every problem is a domain failure. */
async function readHoldout(deployment: DeploymentRef, validation: ValidationSpec) {
  const { path, labelColumn } = validation.holdout;
  const root = resolve(deployment.repoRoot);
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
      `holdout file ${file} does not exist (spec path "${path}")`,
      {
        path,
        resolved: file,
      },
    );
  });
  const parsed = parseHoldoutCsv(text.toString('utf8'), labelColumn, path);
  if (!parsed.ok) {
    throw domainFailure(FailureType.InvalidHoldout, `holdout data is unusable: ${parsed.errors.join('; ')}`, {
      path,
      errors: parsed.errors,
    });
  }
  return { data: parsed.data, sha256: sha256Hex(text) };
}

/** Runs the holdout through the model batch by batch and returns the predicted classes. */
async function predictHoldout(
  session: InferenceSession,
  data: HoldoutData,
  feed: ReturnType<typeof planFeeding>,
  output: string,
): Promise<Int32Array> {
  const predictions = new Int32Array(data.rows);
  for (let start = 0; start < data.rows; start += feed.batchSize) {
    const rows = Math.min(feed.batchSize, data.rows - start);
    // A model that loads but cannot run on well-formed input will not run any better on a retry.
    const result = await session.run(feed.feeds(start, rows), [output]).catch((error: unknown) => {
      throw domainFailure(
        FailureType.ModelUnloadable,
        `the model fails to run on holdout rows ${start + 1}-${start + rows}: ${(error as Error).message}`,
        { error: (error as Error).message },
      );
    });
    const tensor = result[output];
    if (!tensor || tensor.size !== rows) {
      throw domainFailure(
        FailureType.ModelUnloadable,
        `output "${output}" has ${tensor?.size ?? 0} values for a batch of ${rows} rows; expected one class per row`,
      );
    }
    const values = tensor.data as ArrayLike<number | bigint>;
    for (let i = 0; i < rows; i += 1) predictions[start + i] = Number(values[i]);
    heartbeat({ phase: 'holdout', rows: start + rows });
  }
  return predictions;
}

/** Builds the validate activities. */
export function createValidateActivities(deps: ValidateDeps) {
  return {
    /**
     * Validates the stored model; see the module comment. Domain failures: ArtifactNotFound and
     * DigestMismatch (store or holdout file), InvalidSpec (holdout unusable for this interface),
     * ModelUnloadable, InterfaceMismatch, ValidationFailed (details: the full report).
     */
    async validateModel(input: ValidateModelInput): Promise<ValidationReport> {
      const { artifact, deployment, validation } = input;
      const label = `"${artifact.source}" (sha256 ${artifact.sha256.slice(0, 12)}…)`;
      // The store is content addressed, but it is a directory on disk: re-check before executing.
      const stored = await sha256File(artifact.path).catch((error: unknown) => {
        if (!hasErrorCode(error, 'ENOENT')) throw error;
        throw domainFailure(FailureType.ArtifactNotFound, `stored artifact ${artifact.path} is missing`, {
          path: artifact.path,
        });
      });
      if (stored.sha256 !== artifact.sha256) {
        throw domainFailure(
          FailureType.DigestMismatch,
          `stored artifact ${artifact.path} has sha256 ${stored.sha256}, expected ${artifact.sha256}`,
          { path: artifact.path, expected: artifact.sha256, actual: stored.sha256 },
        );
      }
      const holdout = await readHoldout(deployment, validation);

      const session = await loadSession(artifact.path, label);
      try {
        const signature = signatureOf(session);
        const mismatches = interfaceMismatches(signature, input.interface);
        if (mismatches.length > 0) {
          throw domainFailure(
            FailureType.InterfaceMismatch,
            `model ${label} does not match spec.interface: ${mismatches.join('; ')}`,
            { mismatches, model: signature, spec: input.interface },
          );
        }
        const feed = planFeeding(signature, input.interface, validation, holdout.data, deps.batchSize ?? 256);
        const predictions = await predictHoldout(
          session,
          holdout.data,
          feed,
          validation.holdout.predictionOutput,
        );
        const latency = await measureLatency(session, feed, holdout.data.rows, deps.latency);
        const metrics = judgeMetrics(
          {
            accuracy: accuracy(holdout.data.labels, predictions),
            f1Macro: f1Macro(holdout.data.labels, predictions),
            latencyP50: latency.p50Ms,
            latencyP99: latency.p99Ms,
          },
          validation.metrics,
        );
        const report: ValidationReport = {
          passed: metrics.every((metric) => metric.passed),
          metrics,
          latency,
          holdoutRows: holdout.data.rows,
          holdoutSha256: holdout.sha256,
          interface: { ok: true },
          onnxruntimeVersion: onnxruntimeVersion(),
        };
        if (!report.passed) {
          throw domainFailure(
            FailureType.ValidationFailed,
            `model ${label} failed validation on ${report.holdoutRows} holdout rows: ${metrics.map(describeMetric).join('; ')}`,
            report,
          );
        }
        return report;
      } finally {
        await session.release();
      }
    },
  };
}
