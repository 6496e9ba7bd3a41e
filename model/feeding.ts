/**
 * Turning holdout rows into model inputs, and timing single-row inference.
 *
 * Validation feeds one 2-D float input `[batch, features]` from the CSV's feature columns in
 * file order; a spec whose interface cannot be fed that way is reported as an invalid spec
 * (the model may be fine, the validation setup is not).
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import type { ValidationSpec } from '../specs/schema.ts';
import { ModelError, ModelErrorKind } from './errors.ts';
import type { HoldoutData } from './holdout.ts';
import { percentile } from './metrics.ts';
import type { InterfaceSpec, ModelSignature } from './session.ts';

/** How to build feeds for a model from holdout rows. */
export interface FeedPlan {
  inputName: string;
  /** Rows per `session.run` for the holdout pass (1 when the model fixes its batch at 1). */
  batchSize: number;
  /** Feeds for rows `start .. start + rows - 1`. */
  feeds(start: number, rows: number): Record<string, Tensor>;
}

const CLASS_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64']);

function invalid(message: string, details?: unknown): never {
  throw new ModelError(ModelErrorKind.InvalidSpec, message, details);
}

/** Checks that the holdout can drive this interface and returns how to feed it. */
export function planFeeding(
  model: ModelSignature,
  spec: InterfaceSpec,
  validation: ValidationSpec,
  data: HoldoutData,
  batchSize: number,
): FeedPlan {
  const [input, ...others] = spec.inputs;
  if (!input || others.length > 0) {
    invalid(`holdout validation feeds one input; spec.interface declares ${spec.inputs.length}`);
  }
  const dtype = input.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') {
    invalid(`holdout validation feeds float32 or float64; input "${input.name}" is ${dtype}`);
  }
  const [batchDim, featureDim] = input.shape;
  const width = data.featureNames.length;
  if (input.shape.length !== 2 || (batchDim !== -1 && batchDim !== 1)) {
    invalid(
      `holdout validation needs input "${input.name}" shaped [-1, n] or [1, n]; the spec says [${input.shape}]`,
    );
  }
  if (featureDim !== -1 && featureDim !== width) {
    throw new ModelError(
      ModelErrorKind.InvalidHoldout,
      `${validation.holdout.path} has ${width} feature columns (${data.featureNames.join(', ')}); input "${input.name}" takes ${featureDim}`,
    );
  }
  const outputName = validation.holdout.predictionOutput;
  const output = model.outputs.find((o) => o.name === outputName);
  if (!output) {
    const names = model.outputs.map((o) => o.name).join(', ');
    invalid(
      `validation.holdout.predictionOutput "${outputName}" is not an output of the model (outputs: ${names})`,
    );
  }
  if (!CLASS_DTYPES.has(output.dtype)) {
    invalid(
      `prediction output "${outputName}" is ${output.dtype}; holdout validation compares integer classes`,
    );
  }
  return {
    inputName: input.name,
    batchSize: batchDim === 1 ? 1 : Math.max(1, batchSize),
    feeds(start, rows) {
      const values = data.features.subarray(start * width, (start + rows) * width);
      const dims = [rows, width];
      const tensor =
        dtype === 'float32'
          ? new Tensor('float32', Float32Array.from(values), dims)
          : new Tensor('float64', Float64Array.from(values), dims);
      return { [input.name]: tensor };
    },
  };
}

/** Single-row latency sampling. Defaults keep a validation under about two seconds. */
export interface LatencyOptions {
  /** Untimed runs first, so one-off costs (allocations, lazy init) stay out of the numbers. */
  warmupRuns: number;
  /** Timed runs to aim for. */
  maxRuns: number;
  /** Timed runs always made, even past the time budget, so p99 means something. */
  minRuns: number;
  /** Wall-time budget for the timed runs. */
  budgetMs: number;
}

const DEFAULT_LATENCY: LatencyOptions = { warmupRuns: 20, maxRuns: 200, minRuns: 20, budgetMs: 2000 };

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  runs: number;
}

const round = (ms: number) => Math.round(ms * 1e4) / 1e4;

/** Called as a long step advances, e.g. `{ phase: 'latency', runs: 50 }` (the caller heartbeats). */
export type ProgressReporter = (details: { phase: string } & Record<string, unknown>) => void;

/**
 * Times `session.run` on one row at a time (all outputs, as serving computes them), cycling
 * through the first holdout rows. Feeds are built before timing so only inference is measured.
 */
export async function measureLatency(
  session: InferenceSession,
  plan: FeedPlan,
  rows: number,
  options: Partial<LatencyOptions> = {},
  progress: ProgressReporter = () => {},
): Promise<LatencySummary> {
  const { warmupRuns, maxRuns, minRuns, budgetMs } = { ...DEFAULT_LATENCY, ...options };
  progress({ phase: 'latency', runs: 0 });
  const feeds = Array.from({ length: Math.min(rows, 64) }, (_, i) => plan.feeds(i, 1));
  const feedAt = (i: number) => feeds[i % feeds.length] as Record<string, Tensor>;
  for (let i = 0; i < warmupRuns; i += 1) await session.run(feedAt(i));

  const samples: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(budgetMs * 1e6));
  while (samples.length < maxRuns && (samples.length < minRuns || process.hrtime.bigint() < deadline)) {
    const feed = feedAt(samples.length);
    const started = process.hrtime.bigint();
    await session.run(feed);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (samples.length % 50 === 0) progress({ phase: 'latency', runs: samples.length });
  }
  samples.sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    runs: samples.length,
  };
}
