/**
 * How many bytes a tensor's data takes, from its `dims` and `data_type` alone: the figure the
 * scan compares with `raw_data`, with external-data `length`, and with the byte limits.
 */
import type { TensorProto } from './proto.ts';

/** `TensorProto.DataType` → [name, bits per element]. STRING (8) has no fixed size. */
const DATA_TYPES: ReadonlyMap<number, readonly [string, number]> = new Map([
  [1, ['FLOAT', 32]],
  [2, ['UINT8', 8]],
  [3, ['INT8', 8]],
  [4, ['UINT16', 16]],
  [5, ['INT16', 16]],
  [6, ['INT32', 32]],
  [7, ['INT64', 64]],
  [8, ['STRING', 0]],
  [9, ['BOOL', 8]],
  [10, ['FLOAT16', 16]],
  [11, ['DOUBLE', 64]],
  [12, ['UINT32', 32]],
  [13, ['UINT64', 64]],
  [14, ['COMPLEX64', 64]],
  [15, ['COMPLEX128', 128]],
  [16, ['BFLOAT16', 16]],
  [17, ['FLOAT8E4M3FN', 8]],
  [18, ['FLOAT8E4M3FNUZ', 8]],
  [19, ['FLOAT8E5M2', 8]],
  [20, ['FLOAT8E5M2FNUZ', 8]],
  // Sub-byte types are packed: two (or four) elements per byte, the last byte padded.
  [21, ['UINT4', 4]],
  [22, ['INT4', 4]],
  [23, ['FLOAT4E2M1', 4]],
  [24, ['FLOAT8E8M0', 8]],
  [25, ['UINT2', 2]],
  [26, ['INT2', 2]],
]);

export const STRING_DATA_TYPE = 8;

/** `FLOAT`, `INT64`, ... or `data type 99` for a number ONNX does not define. */
export function dataTypeName(dataType: number): string {
  return DATA_TYPES.get(dataType)?.[0] ?? `data type ${dataType}`;
}

export function isKnownDataType(dataType: number): boolean {
  return DATA_TYPES.has(dataType);
}

/** `[3, 4]`, for messages. */
export function dimsText(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/**
 * The number of elements `dims` describe. Infinity when the product passes 2^53, so that it
 * compares as "over any limit" instead of wrapping; undefined when a dimension is negative.
 */
function elementCount(dims: readonly number[]): number | undefined {
  let count = 1;
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 0) return undefined;
    count *= dim;
  }
  return count > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : count;
}

/**
 * Bytes of the tensor's data by its header, or undefined when that has no fixed answer (strings,
 * unknown data types, negative dimensions: other findings report those).
 */
export function tensorByteSize(tensor: Pick<TensorProto, 'dims' | 'dataType'>): number | undefined {
  return denseByteSize(tensor.dims, tensor.dataType);
}

/** Bytes of `dims` elements of `dataType`, packed as ONNX packs them. */
export function denseByteSize(dims: readonly number[], dataType: number): number | undefined {
  const bits = DATA_TYPES.get(dataType)?.[1];
  const count = elementCount(dims);
  if (bits === undefined || bits === 0 || count === undefined) return undefined;
  if (!Number.isFinite(count)) return count;
  return Math.ceil((count * bits) / 8);
}
