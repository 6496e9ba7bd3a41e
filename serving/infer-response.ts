/**
 * The KServe V2 infer response, written directly as a JSON string from the output tensors (their
 * typed arrays' `join` gives exact JSON numbers, 64-bit integers included), and the checks on
 * outputs before anything is sent: NaN or ±Infinity is an error, not an answer.
 *
 * The response is bounded (`maxResponseBytes`): data is written in slices and the running size
 * checked after each, so an answer over the limit is refused after at most one slice more than
 * the limit has been built, whatever the size of the output tensors.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { halfToNumber } from './dtypes.ts';
import { HttpError } from './http.ts';
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

/** Elements written per slice: small enough to bound the overshoot, large enough to cost nothing. */
const SLICE = 16_384;

/** One slice of a tensor's data as JSON values separated by commas (no brackets). */
function sliceJson(tensor: Tensor, start: number, end: number): string {
  switch (tensor.type) {
    case 'string': {
      const text = JSON.stringify((tensor.data as string[]).slice(start, end));
      return text.slice(1, -1);
    }
    case 'bool':
      return Array.from((tensor.data as Uint8Array).subarray(start, end), (value) =>
        value ? 'true' : 'false',
      ).join(',');
    case 'float16':
      return Array.from((tensor.data as Uint16Array).subarray(start, end), halfToNumber).join(',');
    default:
      // Numeric typed arrays, BigInt64Array included: join writes plain decimal numbers.
      return (tensor.data as Float32Array).subarray(start, end).join(',');
  }
}

const tooLarge = (limit: number) =>
  new HttpError(
    413,
    `the response would be larger than the limit of ${limit} bytes (maxResponseBytes); send fewer rows per request, or ask for fewer outputs`,
    'response_too_large',
  );

/**
 * The response body for `outputs` of a successful run, and its length in UTF-8 bytes; throws
 * HttpError 413 when it would be longer than `maxBytes`. While building, characters are counted
 * (each is at least one byte); the exact byte count is checked once at the end.
 */
export function encodeInferResponse(
  version: ModelVersion,
  id: string | undefined,
  outputs: readonly OutputPlan[],
  results: Results,
  maxBytes: number,
  /** A routed answer's prediction id (base64url: nothing to escape), as `parameters.prediction_id`. */
  predictionId?: string,
): { json: string; bytes: number } {
  let json = version.responseHead;
  if (id !== undefined) json += `,"id":${JSON.stringify(id)}`;
  if (predictionId !== undefined) json += `,"parameters":{"prediction_id":"${predictionId}"}`;
  json += ',"outputs":[';
  for (let i = 0; i < outputs.length; i += 1) {
    const output = outputs[i] as OutputPlan;
    const tensor = results[output.name];
    if (!tensor) throw new Error(`onnxruntime returned no "${output.name}" output`);
    if (i > 0) json += ',';
    json += `${output.jsonHead}[${tensor.dims.join(',')}],"data":[`;
    const length = tensor.data.length;
    for (let start = 0; start < length; start += SLICE) {
      if (start > 0) json += ',';
      json += sliceJson(tensor, start, Math.min(length, start + SLICE));
      if (json.length > maxBytes) throw tooLarge(maxBytes);
    }
    json += ']}';
  }
  json += ']}';
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) throw tooLarge(maxBytes);
  return { json, bytes };
}
