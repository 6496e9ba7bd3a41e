/**
 * What validation does with onnxruntime, in one call: load the model from its file, compare its
 * signature with `spec.interface`, predict the holdout batch by batch (with the class
 * probabilities when the spec names their output), time single-row inference, and run the
 * shuffled rows of permutation importance when asked. It runs inside the isolated child process
 * (`run-child.ts`); the verdict (metrics against thresholds) and every number derived from the
 * predictions stay with the caller.
 *
 * Problems that are the model's or the spec's fault are raised as domain failures
 * (ModelUnloadable, InterfaceMismatch, InvalidSpec, InvalidHoldout); the child passes them back
 * to the parent by type, message and details.
 */
import type { ValidationSpec } from '../specs/schema.ts';
import { ModelError, ModelErrorKind } from './errors.ts';
import {
  type LatencyOptions,
  type LatencySummary,
  measureLatency,
  type ProgressReporter,
  planFeeding,
} from './feeding.ts';
import type { HoldoutData } from './holdout.ts';
import { runPermutations } from './permutation-run.ts';
import { predictRows, rowsProgress } from './predict.ts';
import type { PermutationPlan, PermutationRun } from './report/importance.ts';
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
  /** Shuffled passes for permutation importance (`report/importance.ts`); absent, none are run. */
  permutation?: PermutationPlan;
}

export interface ModelRunResult {
  signature: ModelSignature;
  /** The predicted class of every holdout row, in row order. */
  predictions: Int32Array<ArrayBuffer>;
  /** The class probabilities of every row, when `validation.holdout.probabilityOutput` names them. */
  probabilities?: { columns: number; values: Float32Array<ArrayBuffer> } | undefined;
  latency: LatencySummary;
  onnxruntimeVersion: string;
  /** The shuffled passes' predictions, when a permutation plan was given. */
  permutation?: PermutationRun | undefined;
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
    const { predictionOutput, probabilityOutput } = validation.holdout;
    if (probabilityOutput !== undefined) checkProbabilityOutput(signature, probabilityOutput);
    progress({ phase: 'holdout', rows: 0 });
    const started = performance.now();
    const predicted = await predictRows(
      session,
      feed,
      holdout.rows,
      { prediction: predictionOutput, ...(probabilityOutput ? { probability: probabilityOutput } : {}) },
      'holdout rows',
      rowsProgress(progress, 'holdout'),
    );
    const msPerRow = (performance.now() - started) / holdout.rows;
    const latency = await measureLatency(session, feed, holdout.rows, request.latency, progress);
    const permutation = request.permutation
      ? await runPermutations(
          {
            session,
            signature,
            interface: request.interface,
            validation,
            holdout,
            batchSize: request.batchSize,
            msPerRow,
          },
          request.permutation,
          progress,
        )
      : undefined;
    return {
      signature,
      ...predicted,
      latency,
      onnxruntimeVersion: onnxruntimeVersion(),
      ...(permutation ? { permutation } : {}),
    };
  } finally {
    await session.release();
  }
}

/** The probability output must be a float matrix of the model; the spec's rules checked the spec's side. */
function checkProbabilityOutput(signature: ModelSignature, name: string): void {
  const output = signature.outputs.find((o) => o.name === name);
  if (!output || !['float32', 'float64', 'float16'].includes(output.dtype) || output.shape.length !== 2) {
    throw new ModelError(
      ModelErrorKind.InvalidSpec,
      output
        ? `validation.holdout.probabilityOutput "${name}" is ${output.dtype}[${output.shape.join(', ')}] in the model; probabilities are a float matrix [-1, classes]`
        : `validation.holdout.probabilityOutput "${name}" is not an output of the model (outputs: ${signature.outputs.map((o) => o.name).join(', ')})`,
    );
  }
}
