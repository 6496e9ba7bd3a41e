/**
 * Turns a KServe V2 infer request body into onnxruntime feeds for one version, checking it
 * against that version's inputs. Hand-written rather than a zod schema because it runs on every
 * request: one `JSON.parse`, one pass over each input's data writing straight into the typed
 * array the tensor wraps. Every rejection is a 400 whose message names the input and says what is
 * wrong and what the model expects.
 *
 * What a client chooses is bounded before it costs anything (`limits.ts`): the nesting before
 * parsing, the element count (the product of every shape) before any tensor is allocated, and
 * each value against its datatype as it is written, so that a value the tensor cannot hold (1e39
 * in FP32, 300 in UINT8) is the client's 400, never the model's 500.
 */
import { Tensor } from 'onnxruntime-node';
import { KSERVE_DATATYPES } from './dtypes.ts';
import { HttpError } from './http.ts';
import type { ServingLimits } from './limits.ts';
import type { InputPlan, ModelVersion, OutputPlan } from './model-version.ts';
import { parseJsonBody } from './safe-json.ts';

/** A checked request, ready for `session.run`. */
interface InferRequest {
  id: string | undefined;
  feeds: Record<string, Tensor>;
  /** The outputs to return, in the order the client asked for (or the model's order). */
  outputs: readonly OutputPlan[];
  /** The outputs to compute: `outputs` plus the prediction output the metrics and shadow need. */
  fetches: readonly string[];
}

/** The limits a request body is checked against. */
export type RequestLimits = Pick<ServingLimits, 'maxJsonDepth' | 'maxElements'>;

const bad = (message: string) => new HttpError(400, message);
/** A shape for a message, at most 8 dimensions of it (a client may send any array as a shape). */
const shapeText = (shape: readonly unknown[]) =>
  shape.length > 8
    ? `[${shape.slice(0, 8).map(describeValue).join(', ')}, ... (${shape.length} dimensions)]`
    : `[${shape.map(describeValue).join(', ')}]`;
const quoteList = (names: Iterable<string>) => [...names].map((name) => JSON.stringify(name)).join(', ');

/** A short, bounded picture of a value for a message: never the whole of a large array or object. */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  // String(), not JSON: JSON writes Infinity (1e400 parsed) as null.
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A typed array (or string array) written by index; the allocation decides the element type. */
interface Writable {
  [index: number]: unknown;
  readonly length: number;
}

/**
 * Floats, the common case, get their own loop: no per-element conversion or call. With
 * `acceptsNull` (the spec declares the input's columns), a JSON null is a missing value, stored
 * as NaN for the column's `missing` rule to count or refuse (`live-statistics.ts`).
 */
function fillFloats(
  values: unknown[],
  target: Float32Array | Float64Array,
  at: number,
  depth: number,
  acceptsNull: boolean,
): number {
  let offset = at;
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (typeof value === 'number') {
      // Past the end nothing is written; the count is checked afterwards.
      if (offset < target.length) {
        target[offset] = value;
        // Read back: a value outside the type's range (1e39 in FP32, 1e400 parsed as Infinity)
        // is stored as ±Infinity, and x - x is NaN only for ±Infinity and NaN.
        const stored = target[offset] as number;
        if (stored - stored !== 0) {
          throw new BadElement(
            offset,
            value,
            target instanceof Float32Array ? FP32_RANGE : 'a finite number',
          );
        }
      }
      offset += 1;
    } else if (depth > 1 && Array.isArray(value)) {
      offset = fillFloats(value, target, offset, depth - 1, acceptsNull);
    } else if (value === null && acceptsNull) {
      if (offset < target.length) target[offset] = Number.NaN;
      offset += 1;
    } else {
      throw new BadElement(offset, value, 'a number');
    }
  }
  return offset;
}

const FP32_RANGE = 'a number from -3.4028234663852886e38 to 3.4028234663852886e38';

class BadElement {
  constructor(
    readonly index: number,
    readonly value: unknown,
    readonly expected: string,
  ) {}
}

function convert(input: InputPlan, value: unknown, index: number): unknown {
  const { kind, min, max } = input.element;
  if (kind === 'string') {
    if (typeof value !== 'string') throw new BadElement(index, value, 'a string');
    return value;
  }
  if (kind === 'bool') {
    if (typeof value !== 'boolean') throw new BadElement(index, value, 'true or false');
    return value ? 1 : 0;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BadElement(index, value, `an integer from ${min} to ${max}`);
  }
  return kind === 'bigint' ? BigInt(value) : value;
}

function fillOther(input: InputPlan, values: unknown[], target: Writable, at: number, depth: number): number {
  let offset = at;
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (depth > 1 && Array.isArray(value)) {
      offset = fillOther(input, value, target, offset, depth - 1);
    } else {
      const converted = convert(input, value, offset);
      // A string array would grow past its end, unlike a typed array.
      if (offset < target.length) target[offset] = converted;
      offset += 1;
    }
  }
  return offset;
}

function countLeaves(values: unknown[]): number {
  let count = 0;
  for (const value of values) count += Array.isArray(value) ? countLeaves(value) : 1;
  return count;
}

/**
 * Checks the request's shape against the declared one; returns the number of elements, refusing
 * before the product passes `budget` (what is left of `maxElements`), so no dimension, however
 * large, reaches an allocation.
 */
function checkShape(input: InputPlan, shape: unknown, budget: number, maxElements: number): number {
  const where = `input "${input.name}"`;
  if (!Array.isArray(shape)) {
    throw bad(`${where}: "shape" must be an array of positive integers, got ${describeValue(shape)}`);
  }
  if (shape.length !== input.shape.length) {
    throw bad(
      `${where}: shape ${shapeText(shape)} has ${shape.length} dimensions; the model expects ${input.shape.length}: ${shapeText(input.shape)} (-1 = any size)`,
    );
  }
  let size = 1;
  for (let axis = 0; axis < shape.length; axis += 1) {
    const dim: unknown = shape[axis];
    if (!Number.isSafeInteger(dim) || (dim as number) <= 0) {
      throw bad(
        `${where}: "shape" must be an array of positive integers; shape[${axis}] is ${describeValue(dim)}`,
      );
    }
    const want = input.shape[axis];
    if (want !== -1 && dim !== want) {
      throw bad(
        `${where}: shape ${shapeText(shape)} does not match the model's ${shapeText(input.shape)}: dimension ${axis} must be ${want} (-1 = any size)`,
      );
    }
    size *= dim as number;
    if (size > budget) {
      throw bad(
        `${where}: shape ${shapeText(shape)} asks for more tensor elements than the limit of ${maxElements} per request (maxElements)`,
      );
    }
  }
  return size;
}

function decodeTensor(
  input: InputPlan,
  raw: Record<string, unknown>,
  bodyLength: number,
  budget: number,
  maxElements: number,
): Tensor {
  const where = `input "${input.name}"`;
  if (raw.datatype !== input.datatype) {
    const known = (KSERVE_DATATYPES as readonly unknown[]).includes(raw.datatype);
    throw bad(
      known
        ? `${where}: datatype ${raw.datatype} does not match the model's ${input.datatype}`
        : `${where}: "datatype" must be one of ${KSERVE_DATATYPES.join(', ')} (the model expects ${input.datatype}), got ${describeValue(raw.datatype)}`,
    );
  }
  const size = checkShape(input, raw.shape, budget, maxElements);
  const data = raw.data;
  if (!Array.isArray(data))
    throw bad(`${where}: "data" must be an array (flat or nested), got ${describeValue(data)}`);
  const dims = raw.shape as number[];
  // Every element takes at least one byte of the body: a shape claiming more elements than that
  // is wrong, and must be refused before allocating its tensor.
  if (size > bodyLength) {
    throw bad(`${where}: data has ${countLeaves(data)} values, but shape ${shapeText(dims)} needs ${size}`);
  }
  const target = input.element.allocate(size);
  let count: number;
  try {
    count =
      input.element.kind === 'float'
        ? fillFloats(data, target as Float32Array | Float64Array, 0, dims.length, input.acceptsNull)
        : fillOther(input, data, target as Writable, 0, dims.length);
  } catch (error) {
    if (!(error instanceof BadElement)) throw error;
    const what = Array.isArray(error.value)
      ? 'an array nested deeper than the shape'
      : describeValue(error.value);
    throw bad(`${where}: data[${error.index}] is ${what}; ${input.datatype} needs ${error.expected}`);
  }
  if (count !== size)
    throw bad(`${where}: data has ${count} values, but shape ${shapeText(dims)} needs ${size}`);
  return new Tensor(input.element.ortType, target, dims);
}

function decodeOutputs(raw: unknown, version: ModelVersion): Pick<InferRequest, 'outputs' | 'fetches'> {
  if (raw === undefined) return { outputs: version.outputs, fetches: version.allOutputNames };
  if (!Array.isArray(raw) || raw.length === 0) {
    throw bad(`"outputs" must be a non-empty array of {"name": ...}, got ${describeValue(raw)}`);
  }
  // Each output at most once: naming one output many times would multiply the response (and the
  // work of writing it) while the request stays small.
  const seen = new Map<string, number>();
  const outputs: OutputPlan[] = raw.map((entry: unknown, index) => {
    const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') throw bad(`outputs[${index}] must be an object with a string "name"`);
    const plan = version.outputsByName.get(name);
    if (!plan) {
      throw bad(
        `outputs[${index}]: model "${version.model}" version "${version.name}" has no output ${describeValue(name)} (outputs: ${quoteList(version.outputsByName.keys())})`,
      );
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw bad(`outputs[${index}]: output "${name}" is already requested at outputs[${earlier}]`);
    }
    seen.set(name, index);
    return plan;
  });
  const fetches = outputs.map((output) => output.name);
  if (!fetches.includes(version.classOutput)) fetches.push(version.classOutput);
  return { outputs, fetches };
}

/** Parses and checks a request body for `version`; throws HttpError 400 with a precise message. */
export function parseInferRequest(text: string, version: ModelVersion, limits: RequestLimits): InferRequest {
  const body = parseJsonBody(text, limits.maxJsonDepth);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('request body must be a JSON object with an "inputs" array');
  }
  const { id, inputs, outputs } = body as Record<string, unknown>;
  if (id !== undefined && typeof id !== 'string')
    throw bad(`"id" must be a string, got ${describeValue(id)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw bad(
      `request body needs "inputs": a non-empty array of {name, shape, datatype, data}; model "${version.model}" takes ${quoteList(version.inputs.map((i) => i.name))}`,
    );
  }
  const feeds: Record<string, Tensor> = {};
  let budget = limits.maxElements;
  for (let index = 0; index < inputs.length; index += 1) {
    const raw: unknown = inputs[index];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw bad(`inputs[${index}] must be an object with name, shape, datatype and data`);
    }
    const name = (raw as { name?: unknown }).name;
    if (typeof name !== 'string') throw bad(`inputs[${index}] needs a string "name"`);
    const plan = version.inputs.find((input) => input.name === name);
    if (!plan) {
      throw bad(
        `inputs[${index}]: model "${version.model}" version "${version.name}" has no input ${describeValue(name)} (inputs: ${quoteList(version.inputs.map((i) => i.name))})`,
      );
    }
    if (feeds[name] !== undefined) throw bad(`input "${name}" is given twice`);
    const tensor = decodeTensor(
      plan,
      raw as Record<string, unknown>,
      text.length,
      budget,
      limits.maxElements,
    );
    budget -= tensor.size;
    feeds[name] = tensor;
  }
  for (const input of version.inputs) {
    if (feeds[input.name] === undefined) {
      throw bad(
        `missing input "${input.name}" (model "${version.model}" needs ${quoteList(version.inputs.map((i) => i.name))})`,
      );
    }
  }
  return { id, feeds, ...decodeOutputs(outputs, version) };
}
