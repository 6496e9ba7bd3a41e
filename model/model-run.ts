/**
 * What validation does with onnxruntime, in one call: load the model from its file, compare its
 * signature with `spec.interface`, predict the holdout batch by batch and time single-row
 * inference. It runs inside the isolated child process (`run-child.ts`); the verdict (metrics
 * against thresholds) stays with the caller.
 *
 * Problems that are the model's or the spec's fault are raised as domain failures
 * (ModelUnloadable, InterfaceMismatch, InvalidSpec, InvalidHoldout); the child passes them back
 * to the parent by type, message and details.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { ValidationSpec } from '../specs/schema.ts';
import { ModelError, ModelErrorKind } from './errors.ts';
import {
  type FeedPlan,
  type LatencyOptions,
  type LatencySummary,
  measureLatency,
  type ProgressReporter,
  planFeeding,
} from './feeding.ts';
import type { HoldoutData } from './holdout.ts';
import {
  type InterfaceSpec,
  interfaceMismatches,
  loadSession,
  type ModelSignature,
  onnxruntimeVersion,
  signatureOf,
} from './session.ts';

export interface ModelRunRequest {
  /** The model file; onnxruntime loads it by path, so external data resolves beside it. */
  modelPath: string;
  /** How messages name the model, e.g. `"models/iris/v2/model.onnx" (sha256 1acf…)`. */
  label: string;
  interface: InterfaceSpec;
  validation: ValidationSpec;
  holdout: HoldoutData;
  /** Holdout rows per `session.run`. */
  batchSize: number;
  latency: Partial<LatencyOptions>;
}

export interface ModelRunResult {
  signature: ModelSignature;
  /** The predicted class of every holdout row, in row order. */
  predictions: Int32Array<ArrayBuffer>;
  latency: LatencySummary;
  onnxruntimeVersion: string;
}

/** Runs the holdout through the model batch by batch and returns the predicted classes. */
async function predictHoldout(
  session: InferenceSession,
  data: HoldoutData,
  feed: FeedPlan,
  output: string,
  progress: ProgressReporter,
): Promise<Int32Array<ArrayBuffer>> {
  const predictions = new Int32Array(data.rows);
  progress({ phase: 'holdout', rows: 0 });
  for (let start = 0; start < data.rows; start += feed.batchSize) {
    const rows = Math.min(feed.batchSize, data.rows - start);
    // A model that loads but cannot run on well-formed input will not run any better on a retry.
    const result = await session.run(feed.feeds(start, rows), [output]).catch((error: unknown) => {
      throw new ModelError(
        ModelErrorKind.ModelUnloadable,
        `the model fails to run on holdout rows ${start + 1}-${start + rows}: ${(error as Error).message}`,
        { error: (error as Error).message },
      );
    });
    const tensor = result[output];
    if (!tensor || tensor.size !== rows) {
      throw new ModelError(
        ModelErrorKind.ModelUnloadable,
        `output "${output}" has ${tensor?.size ?? 0} values for a batch of ${rows} rows; expected one class per row`,
      );
    }
    const values = tensor.data as ArrayLike<number | bigint>;
    for (let i = 0; i < rows; i += 1) predictions[start + i] = Number(values[i]);
    progress({ phase: 'holdout', rows: start + rows });
  }
  return predictions;
}

/** Loads, checks and exercises the model; see the module comment. */
export async function runModel(
  request: ModelRunRequest,
  progress: ProgressReporter,
): Promise<ModelRunResult> {
  progress({ phase: 'loading' });
  const session = await loadSession(request.modelPath, request.label);
  try {
    const signature = signatureOf(session);
    const mismatches = interfaceMismatches(signature, request.interface);
    if (mismatches.length > 0) {
      throw new ModelError(
        ModelErrorKind.InterfaceMismatch,
        `model ${request.label} does not match spec.interface: ${mismatches.join('; ')}`,
        { mismatches, model: signature, spec: request.interface },
      );
    }
    const { holdout, validation } = request;
    const feed = planFeeding(signature, request.interface, validation, holdout, request.batchSize);
    const output = validation.holdout.predictionOutput;
    const predictions = await predictHoldout(session, holdout, feed, output, progress);
    const latency = await measureLatency(session, feed, holdout.rows, request.latency, progress);
    return { signature, predictions, latency, onnxruntimeVersion: onnxruntimeVersion() };
  } finally {
    await session.release();
  }
}
