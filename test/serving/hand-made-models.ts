/**
 * Hand-built ONNX models, encoded with a few lines of protobuf wire format (the shared test
 * schema leaves out `ints` attributes).
 *
 * `fragileModel` fails in the two ways a served model can, on demand, while taking
 * the same input as the iris models (`input`: float32 [-1, 4]):
 *
 * - `label` = Gather([0, 1, 2], Cast<int64>(ReduceMax(input, axis 1))): a row whose largest value
 *   is 3 or more indexes past the end, and onnxruntime fails the run ("out of bounds");
 * - `probabilities` = Sqrt(input): a negative value gives NaN.
 *
 * Zero-filled input (the warm-up) runs cleanly: label 0, probabilities 0.
 *
 * `typedModel` takes and returns the non-float element types: `ids` int64 [-1, 2] → `label` =
 * row maximum (int64 [-1]); `mask` bool [-1, 2] → `flipped` = Not(mask); `words` string [-1] →
 * `echo` = the same strings.
 *
 * `narrowModel` takes one [-1] input of each narrow or wide numeric type (`i8`, `u8`, `i16`,
 * `i32`, `f32`, `f64`) and echoes each as `<name>_out`; `label` = Cast<int64>(i32).
 */

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const INT16 = 5;
const INT32 = 6;
const INT64 = 7;
const STRING = 8;
const BOOL = 9;
const DOUBLE = 11;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

type Field = number[];

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

const int = (field: number, value: number): Field => [...varint(field << 3), ...varint(value)];
const bytes = (field: number, payload: number[]): Field => [
  ...varint((field << 3) | 2),
  ...varint(payload.length),
  ...payload,
];
const str = (field: number, text: string) => bytes(field, [...Buffer.from(text, 'utf8')]);
const message = (field: number, ...fields: Field[]) => bytes(field, fields.flat());

function valueInfo(field: number, name: string, elemType: number, dims: (number | string)[]): Field {
  const dimensions = dims.map((dim) => message(1, typeof dim === 'number' ? int(1, dim) : str(2, dim)));
  const tensorType = message(1, int(1, elemType), message(2, ...dimensions));
  return message(field, str(1, name), message(2, tensorType));
}

function node(op: string, inputs: string[], outputs: string[], ...attributes: Field[]): Field {
  return message(
    1,
    ...inputs.map((i) => str(1, i)),
    ...outputs.map((o) => str(2, o)),
    str(3, op),
    str(4, op),
    ...attributes,
  );
}

const intAttribute = (name: string, value: number) =>
  message(5, str(1, name), int(3, value), int(20, ATTRIBUTE_INT));
const intsAttribute = (name: string, values: number[]) =>
  message(5, str(1, name), ...values.map((value) => int(8, value)), int(20, ATTRIBUTE_INTS));

const modelBytes = (graph: Field) =>
  Uint8Array.from([
    ...int(1, 8),
    ...str(2, 'modelship-tests'),
    ...graph,
    ...message(8, str(1, ''), int(2, 17)),
  ]);

/** The fragile model's bytes (IR 8, opset 17). */
export function fragileModel(): Uint8Array {
  const graph = message(
    7,
    node('ReduceMax', ['input'], ['row_max'], intsAttribute('axes', [1]), intAttribute('keepdims', 0)),
    node('Cast', ['row_max'], ['index'], intAttribute('to', INT64)),
    node('Constant', [], ['classes'], intsAttribute('value_ints', [0, 1, 2])),
    node('Gather', ['classes', 'index'], ['label'], intAttribute('axis', 0)),
    node('Sqrt', ['input'], ['probabilities']),
    str(2, 'fragile'),
    valueInfo(11, 'input', FLOAT, ['batch', 4]),
    valueInfo(12, 'label', INT64, ['batch']),
    valueInfo(12, 'probabilities', FLOAT, ['batch', 4]),
  );
  return modelBytes(graph);
}

/** The typed model's bytes (IR 8, opset 17). */
export function typedModel(): Uint8Array {
  const graph = message(
    7,
    node('ReduceMax', ['ids'], ['label'], intsAttribute('axes', [1]), intAttribute('keepdims', 0)),
    node('Not', ['mask'], ['flipped']),
    node('Identity', ['words'], ['echo']),
    str(2, 'typed'),
    valueInfo(11, 'ids', INT64, ['batch', 2]),
    valueInfo(11, 'mask', BOOL, ['batch', 2]),
    valueInfo(11, 'words', STRING, ['batch']),
    valueInfo(12, 'label', INT64, ['batch']),
    valueInfo(12, 'flipped', BOOL, ['batch', 2]),
    valueInfo(12, 'echo', STRING, ['batch']),
  );
  return modelBytes(graph);
}

/** The inputs of the narrow model, with their ONNX element types. */
const NARROW_INPUTS: [string, number][] = [
  ['i8', INT8],
  ['u8', UINT8],
  ['i16', INT16],
  ['i32', INT32],
  ['f32', FLOAT],
  ['f64', DOUBLE],
];

/** The narrow model's bytes (IR 8, opset 17). */
export function narrowModel(): Uint8Array {
  const graph = message(
    7,
    node('Cast', ['i32'], ['label'], intAttribute('to', INT64)),
    // Node names must be unique: each echo is named after its input.
    ...NARROW_INPUTS.map(([name]) =>
      message(1, str(1, name), str(2, `${name}_out`), str(3, `echo_${name}`), str(4, 'Identity')),
    ),
    str(2, 'narrow'),
    ...NARROW_INPUTS.map(([name, type]) => valueInfo(11, name, type, ['batch'])),
    valueInfo(12, 'label', INT64, ['batch']),
    ...NARROW_INPUTS.map(([name, type]) => valueInfo(12, `${name}_out`, type, ['batch'])),
  );
  return modelBytes(graph);
}
