/**
 * One loaded version of a model: its onnxruntime session, what the request path needs to know
 * about its inputs and outputs (computed once here, never per request), its counters, and its
 * in-flight count. The count is what makes unloading safe: a version is released only after it
 * has been retired (taken out of routing) and its last in-flight request, or queued shadow copy,
 * has finished.
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { createInferenceSession } from '../model/onnx-env.ts';
import type { InputTensorSpec } from '../specs/schema.ts';
import type { ServableBundle } from './bundle.ts';
import { type InputElementType, inputElementType, type KServeDatatype, kserveDatatype } from './dtypes.ts';
import { planStatistics, StatisticsPlanError, type VersionStatistics } from './live-statistics.ts';
import type { VersionMetrics } from './metrics.ts';

/** An input as the request path checks it. */
export interface InputPlan {
  name: string;
  datatype: KServeDatatype;
  element: InputElementType;
  /** Declared dimensions; -1 where any size is accepted. */
  shape: readonly number[];
  /**
   * JSON null is accepted (as NaN) in its data: a float input whose columns the spec declares
   * (`features`), where a missing value is counted or refused by the column's `missing` rule.
   */
  acceptsNull: boolean;
}

/** An output the server can return as JSON. */
export interface OutputPlan {
  name: string;
  datatype: KServeDatatype;
  shape: readonly number[];
  /** `{"name":…,"datatype":…,"shape":` — the constant start of this output's JSON. */
  jsonHead: string;
}

/** A bundle whose model cannot be served; the message says why. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

const WARM_RUNS = 3;

const dims = (shape: ReadonlyArray<number | string>) =>
  shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));

/**
 * Builds the input and output plans from the session's own metadata (what onnxruntime will
 * accept). An input whose columns the spec declares (`features`) takes exactly that many columns,
 * even where the model accepts any width: the constraints are read by column.
 */
function plansOf(session: InferenceSession, label: string, specInputs: readonly InputTensorSpec[]) {
  const inputs: InputPlan[] = session.inputMetadata.map((meta) => {
    const element = meta.isTensor ? inputElementType(meta.type) : undefined;
    const datatype = meta.isTensor ? kserveDatatype(meta.type) : undefined;
    if (!meta.isTensor || !element || !datatype) {
      const type = meta.isTensor ? meta.type : 'not a tensor';
      throw new ModelLoadError(`${label}: input "${meta.name}" (${type}) cannot be fed from JSON`);
    }
    const shape = dims(meta.shape);
    const features = specInputs.find((spec) => spec.name === meta.name)?.features;
    if (features !== undefined && shape.length === 2 && shape[1] === -1) shape[1] = features.length;
    return {
      name: meta.name,
      datatype,
      element,
      shape,
      acceptsNull: features !== undefined && element.kind === 'float',
    };
  });
  const outputs: OutputPlan[] = [];
  for (const meta of session.outputMetadata) {
    const datatype = meta.isTensor ? kserveDatatype(meta.type) : undefined;
    // Non-tensor outputs (sequences, maps) have no V2 encoding: they are never fetched.
    if (!meta.isTensor || !datatype) continue;
    const shape = dims(meta.shape);
    const jsonHead = `{"name":${JSON.stringify(meta.name)},"datatype":"${datatype}","shape":`;
    outputs.push({ name: meta.name, datatype, shape, jsonHead });
  }
  return { inputs, outputs };
}

/** A loaded, servable model version. Create with `ModelVersion.load`. */
export class ModelVersion {
  /** Requests (and queued shadow copies) holding this version. */
  inflight = 0;
  /** Set once the version is out of routing; from then on nothing new may acquire it. */
  retiring = false;
  private onDrained: (() => void) | undefined;
  /** Output name → plan, for the request's `outputs` filter. */
  readonly outputsByName: ReadonlyMap<string, OutputPlan>;
  /** What a request without an `outputs` filter fetches and returns: every tensor output. */
  readonly allOutputNames: readonly string[];
  /** The output holding the predicted class (checked at load to be an integer or string tensor). */
  readonly classOutput: string;
  /** `{"model_name":…,"model_version":…` — the constant start of every infer response. */
  readonly responseHead: string;
  /** `GET /v2/models/{name}[/versions/{v}]` without the model name and version list. */
  readonly metadata: { platform: 'onnxruntime'; inputs: object[]; outputs: object[] };

  private constructor(
    readonly model: string,
    readonly name: string,
    readonly bundle: ServableBundle,
    readonly session: InferenceSession,
    readonly inputs: readonly InputPlan[],
    readonly outputs: readonly OutputPlan[],
    readonly metrics: VersionMetrics,
    /** What the request path checks and counts on the inputs (`live-statistics.ts`). */
    readonly statistics: VersionStatistics,
  ) {
    this.classOutput = bundle.predictionOutput;
    this.outputsByName = new Map(outputs.map((output) => [output.name, output]));
    this.allOutputNames = outputs.map((output) => output.name);
    this.responseHead = `{"model_name":${JSON.stringify(model)},"model_version":${JSON.stringify(name)}`;
    const describe = (t: InputPlan | OutputPlan) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
    this.metadata = { platform: 'onnxruntime', inputs: inputs.map(describe), outputs: outputs.map(describe) };
  }

  /** Loads the bundle's model from its file path and checks that the server can serve it. */
  static async load(
    model: string,
    name: string,
    bundle: ServableBundle,
    metrics: VersionMetrics,
  ): Promise<ModelVersion> {
    const label = `model "${model}" version "${name}" (${bundle.modelPath})`;
    let session: InferenceSession;
    try {
      session = await createInferenceSession(bundle.modelPath, {
        executionProviders: ['cpu'],
        // Fatal only: a run that fails is answered with a 500 and counted, and onnxruntime would
        // otherwise also print it to stderr, once per failing request.
        logSeverityLevel: 4,
      });
    } catch (error) {
      throw new ModelLoadError(`onnxruntime cannot load ${label}: ${(error as Error).message}`);
    }
    try {
      const { inputs, outputs } = plansOf(session, label, bundle.interface.inputs);
      const classOutput = outputs.find((output) => output.name === bundle.predictionOutput);
      if (!classOutput || /^FP|^BOOL$/.test(classOutput.datatype)) {
        throw new ModelLoadError(
          `${label}: prediction output "${bundle.predictionOutput}" (validation.holdout.predictionOutput) must be an integer or string tensor output of the model`,
        );
      }
      // Counters live with the version's metrics, so a version unloaded and loaded again from the
      // same bundle keeps counting; another bundle under the same name starts afresh.
      let statistics = metrics.statistics;
      if (statistics?.bundleDigest !== bundle.digest) {
        try {
          statistics = planStatistics(bundle, inputs);
        } catch (error) {
          if (!(error instanceof StatisticsPlanError)) throw error;
          throw new ModelLoadError(`${label}: ${error.message}`);
        }
      }
      metrics.statistics = statistics;
      return new ModelVersion(model, name, bundle, session, inputs, outputs, metrics, statistics);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /**
   * Runs the model a few times on zero-filled batch-1 input, so the first real request does not
   * pay for lazy initialisation; a model that cannot run on well-formed input fails here, before
   * it gets traffic.
   */
  async warm(): Promise<void> {
    const feeds: Record<string, Tensor> = {};
    for (const input of this.inputs) {
      const shape = input.shape.map((dim) => (dim === -1 ? 1 : dim));
      const size = shape.reduce((a, b) => a * b, 1);
      feeds[input.name] = new Tensor(input.element.ortType, input.element.allocate(size), shape);
    }
    try {
      for (let run = 0; run < WARM_RUNS; run += 1) await this.session.run(feeds, this.allOutputNames);
    } catch (error) {
      throw new ModelLoadError(
        `model "${this.model}" version "${this.name}" fails on a zero-filled batch-1 input while warming up: ${(error as Error).message}`,
      );
    }
  }

  /** Takes a hold on the version for one request or shadow copy; false once it is retiring. */
  acquire(): boolean {
    if (this.retiring) return false;
    this.inflight += 1;
    return true;
  }

  /** Gives a hold back; the last one out of a retiring version triggers its unload. */
  done(): void {
    this.inflight -= 1;
    if (this.inflight === 0 && this.retiring) this.drained();
  }

  /** Takes the version out of service: `onDrained` runs once nothing holds it any more. */
  retire(onDrained: () => void): void {
    this.retiring = true;
    this.onDrained = onDrained;
    if (this.inflight === 0) this.drained();
  }

  /** Takes a retiring version back into service (it was loaded again before it drained). */
  reinstate(): void {
    this.retiring = false;
    this.onDrained = undefined;
  }

  private drained(): void {
    const callback = this.onDrained;
    this.onDrained = undefined;
    callback?.();
  }

  /** Frees the native session; only once drained. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}
