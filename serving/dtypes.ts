/**
 * Tensor element types as the Open Inference Protocol (KServe V2) names them (`FP32`, `INT64`, …)
 * and as onnxruntime-node names them (`float32`, `int64`, …), with the typed array each one is
 * carried in. Built once per loaded version, so the request path only indexes precomputed tables.
 */
import type { Tensor } from 'onnxruntime-node';

/** KServe V2 datatype names, in the protocol's own spelling. */
export const KSERVE_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
/** One KServe V2 datatype name. */
export type KServeDatatype = (typeof KSERVE_DATATYPES)[number];

const ORT_TO_KSERVE: Readonly<Record<string, KServeDatatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

/** The KServe name of an onnxruntime element type, or undefined for types the protocol cannot carry. */
export function kserveDatatype(ortType: string): KServeDatatype | undefined {
  return ORT_TO_KSERVE[ortType];
}

/** How the values of one element type travel in JSON and in memory. */
type ElementKind = 'float' | 'int' | 'bigint' | 'bool' | 'string';

/** An input element type we can fill from JSON: its typed array and how values are checked. */
export interface InputElementType {
  ortType: Tensor.Type;
  kind: ElementKind;
  /** Allocates the tensor's backing store for `size` elements. */
  allocate(size: number): Tensor.DataType;
  /** Inclusive range accepted for integer kinds (checked so a 300 never wraps into a UINT8 44). */
  min: number;
  max: number;
}

const float = (ortType: Tensor.Type, make: (n: number) => Tensor.DataType): InputElementType => ({
  ortType,
  kind: 'float',
  allocate: make,
  min: Number.NEGATIVE_INFINITY,
  max: Number.POSITIVE_INFINITY,
});
const int = (
  ortType: Tensor.Type,
  make: (n: number) => Tensor.DataType,
  min: number,
  max: number,
): InputElementType => ({ ortType, kind: 'int', allocate: make, min, max });

const INPUT_TYPES: Readonly<Record<string, InputElementType>> = {
  float32: float('float32', (n) => new Float32Array(n)),
  float64: float('float64', (n) => new Float64Array(n)),
  int8: int('int8', (n) => new Int8Array(n), -128, 127),
  uint8: int('uint8', (n) => new Uint8Array(n), 0, 255),
  int16: int('int16', (n) => new Int16Array(n), -32768, 32767),
  uint16: int('uint16', (n) => new Uint16Array(n), 0, 65535),
  int32: int('int32', (n) => new Int32Array(n), -2147483648, 2147483647),
  uint32: int('uint32', (n) => new Uint32Array(n), 0, 4294967295),
  // JSON numbers are doubles: 64-bit integers are accepted up to 2^53, where doubles stay exact.
  int64: {
    ortType: 'int64',
    kind: 'bigint',
    allocate: (n) => new BigInt64Array(n),
    min: Number.MIN_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
  },
  uint64: {
    ortType: 'uint64',
    kind: 'bigint',
    allocate: (n) => new BigUint64Array(n),
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
  },
  bool: { ortType: 'bool', kind: 'bool', allocate: (n) => new Uint8Array(n), min: 0, max: 1 },
  string: {
    ortType: 'string',
    kind: 'string',
    allocate: (n) => new Array<string>(n).fill(''),
    min: 0,
    max: 0,
  },
};

/** How to fill an input of this onnxruntime type, or undefined when JSON cannot feed it (e.g. float16). */
export function inputElementType(ortType: string): InputElementType | undefined {
  return INPUT_TYPES[ortType];
}

/** Decodes an IEEE 754 half-precision value (onnxruntime hands float16 outputs over as raw bits). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
