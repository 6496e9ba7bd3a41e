/**
 * The KServe V2 infer response, written directly as a JSON string from the output tensors (their
 * typed arrays' `join` gives exact JSON numbers, 64-bit integers included), and the checks on
 * outputs before anything is sent: NaN or ±Infinity is an error, not an answer.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { halfToNumber } from './dtypes.ts';
import type { ModelVersion, OutputPlan } from './model-version.ts';

type Results = InferenceSession.OnnxValueMapType;

function hasNonFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i] as number;
    // x - x is 0 for every finite x, NaN for NaN and ±Infinity.
    if (value - value !== 0) return true;
  }
  return false;
}

/** The first fetched float output holding NaN or ±Infinity, if any. */
export function nonFiniteOutput(results: Results, fetches: readonly string[]): string | undefined {
  for (const name of fetches) {
    const tensor = results[name];
    if (!tensor) continue;
    if (tensor.type === 'float32' || tensor.type === 'float64') {
      if (hasNonFinite(tensor.data as Float32Array | Float64Array)) return name;
    } else if (tensor.type === 'float16') {
      const bits = tensor.data as Uint16Array;
      // Exponent all ones: Infinity or NaN.
      for (let i = 0; i < bits.length; i += 1) if (((bits[i] ?? 0) & 0x7c00) === 0x7c00) return name;
    }
  }
  return undefined;
}

function dataJson(tensor: Tensor): string {
  switch (tensor.type) {
    case 'string':
      return JSON.stringify(tensor.data);
    case 'bool':
      return `[${Array.from(tensor.data as Uint8Array, (value) => (value ? 'true' : 'false')).join(',')}]`;
    case 'float16':
      return `[${Array.from(tensor.data as Uint16Array, halfToNumber).join(',')}]`;
    default:
      // Numeric typed arrays, BigInt64Array included: join writes plain decimal numbers.
      return `[${(tensor.data as Float32Array).join(',')}]`;
  }
}

/** The response body for `outputs` of a successful run. */
export function encodeInferResponse(
  version: ModelVersion,
  id: string | undefined,
  outputs: readonly OutputPlan[],
  results: Results,
): string {
  let json = version.responseHead;
  if (id !== undefined) json += `,"id":${JSON.stringify(id)}`;
  json += ',"outputs":[';
  for (let i = 0; i < outputs.length; i += 1) {
    const output = outputs[i] as OutputPlan;
    const tensor = results[output.name];
    if (!tensor) throw new Error(`onnxruntime returned no "${output.name}" output`);
    if (i > 0) json += ',';
    json += `${output.jsonHead}[${tensor.dims.join(',')}],"data":${dataJson(tensor)}}`;
  }
  return `${json}]}`;
}
