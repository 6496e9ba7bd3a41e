/**
 * A minimal ONNX protobuf schema for protobufjs reflection: only the fields the scan needs,
 * with the field numbers of `onnx/onnx.proto` (IR version 13).
 *
 * Why minimal: the typed tensor payloads (`float_data`, `int64_data`, `string_data`, ...) and
 * the numeric list attributes (tree ensembles keep millions of numbers in `floats`/`ints`) are
 * left out, so protobufjs skips them as unknown fields instead of turning every number into a JS
 * value. `raw_data` and string attributes are declared as `bytes`: protobufjs hands those out as
 * views into the file's buffer (`Buffer#subarray`), never copies. Decoding a large model then
 * costs little more than walking its bytes, and the structure we check stays complete: every
 * graph, subgraph, function, node, attribute and tensor header is declared.
 */
import protobuf from 'protobufjs';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const one = (type: string, id: number) => ({ type, id });
const metadata = (id: number) => repeated('StringStringEntryProto', id);

const ONNX_SCHEMA: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: one('string', 1), value: one('string', 2) } },
        OperatorSetIdProto: { fields: { domain: one('string', 1), version: one('int64', 2) } },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: one('int32', 2),
            name: one('string', 8),
            rawData: one('bytes', 9),
            docString: one('string', 12),
            externalData: repeated('StringStringEntryProto', 13),
            dataLocation: one('int32', 14),
            metadataProps: metadata(16),
          },
        },
        SparseTensorProto: {
          fields: {
            values: one('TensorProto', 1),
            indices: one('TensorProto', 2),
            dims: repeated('int64', 3),
          },
        },
        TensorShapeProto: {
          fields: { dim: repeated('Dimension', 1) },
          nested: {
            Dimension: { fields: { dimValue: one('int64', 1), dimParam: one('string', 2) } },
          },
        },
        TypeProto: {
          fields: { tensorType: one('TensorTypeProto', 1) },
        },
        TensorTypeProto: { fields: { elemType: one('int32', 1), shape: one('TensorShapeProto', 2) } },
        ValueInfoProto: { fields: { name: one('string', 1), type: one('TypeProto', 2) } },
        AttributeProto: {
          fields: {
            name: one('string', 1),
            i: one('int64', 3),
            s: one('bytes', 4),
            t: one('TensorProto', 5),
            g: one('GraphProto', 6),
            strings: repeated('bytes', 9),
            tensors: repeated('TensorProto', 10),
            graphs: repeated('GraphProto', 11),
            docString: one('string', 13),
            type: one('int32', 20),
            refAttrName: one('string', 21),
            sparseTensor: one('SparseTensorProto', 22),
            sparseTensors: repeated('SparseTensorProto', 23),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: one('string', 3),
            opType: one('string', 4),
            attribute: repeated('AttributeProto', 5),
            docString: one('string', 6),
            domain: one('string', 7),
            overload: one('string', 8),
            metadataProps: metadata(9),
          },
        },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: one('string', 2),
            initializer: repeated('TensorProto', 5),
            docString: one('string', 10),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
            sparseInitializer: repeated('SparseTensorProto', 15),
            metadataProps: metadata(16),
          },
        },
        FunctionProto: {
          fields: {
            name: one('string', 1),
            input: repeated('string', 4),
            output: repeated('string', 5),
            node: repeated('NodeProto', 7),
            docString: one('string', 8),
            opsetImport: repeated('OperatorSetIdProto', 9),
            domain: one('string', 10),
            attributeProto: repeated('AttributeProto', 11),
            overload: one('string', 13),
            metadataProps: metadata(14),
          },
        },
        TrainingInfoProto: {
          fields: { initialization: one('GraphProto', 1), algorithm: one('GraphProto', 2) },
        },
        ModelProto: {
          fields: {
            irVersion: one('int64', 1),
            producerName: one('string', 2),
            producerVersion: one('string', 3),
            domain: one('string', 4),
            modelVersion: one('int64', 5),
            docString: one('string', 6),
            graph: one('GraphProto', 7),
            opsetImport: repeated('OperatorSetIdProto', 8),
            metadataProps: metadata(14),
            trainingInfo: repeated('TrainingInfoProto', 20),
            functions: repeated('FunctionProto', 25),
          },
        },
      },
    },
  },
};

export interface StringStringEntry {
  key: string;
  value: string;
}
export interface OperatorSetId {
  domain: string;
  version: number;
}
/** `TensorProto.DataLocation.EXTERNAL`: the payload lives in another file. */
export const DATA_LOCATION_EXTERNAL = 1;
export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  /** A view into the decoded file's bytes (empty when the tensor keeps its data elsewhere). */
  rawData: Uint8Array;
  docString: string;
  externalData: StringStringEntry[];
  dataLocation: number;
  metadataProps: StringStringEntry[];
}
export interface SparseTensorProto {
  values: TensorProto | null;
  indices: TensorProto | null;
  dims: number[];
}
interface Dimension {
  dimValue: number;
  dimParam: string;
}
interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Dimension[] } | null } | null } | null;
}
/** `AttributeProto.AttributeType` values the scan looks at. */
export const AttributeType = {
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  STRINGS: 8,
} as const;
export interface AttributeProto {
  name: string;
  type: number;
  i: number;
  /** STRING attributes: bytes, usually UTF-8 (a view into the file's bytes). */
  s: Uint8Array;
  strings: Uint8Array[];
  t: TensorProto | null;
  g: GraphProto | null;
  sparseTensor: SparseTensorProto | null;
  tensors: TensorProto[];
  graphs: GraphProto[];
  sparseTensors: SparseTensorProto[];
  docString: string;
  refAttrName: string;
}
export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  overload: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
  docString: string;
  metadataProps: StringStringEntry[];
}
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  sparseInitializer: SparseTensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  docString: string;
  metadataProps: StringStringEntry[];
}
export interface FunctionProto {
  name: string;
  domain: string;
  overload: string;
  input: string[];
  output: string[];
  node: NodeProto[];
  opsetImport: OperatorSetId[];
  /** Default values of the function's attributes. */
  attributeProto: AttributeProto[];
  docString: string;
  metadataProps: StringStringEntry[];
}
interface TrainingInfoProto {
  initialization: GraphProto | null;
  algorithm: GraphProto | null;
}
/** The decoded model: every scalar present (protobuf defaults), absent messages `null`. */
export interface ModelProto {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graph: GraphProto | null;
  opsetImport: OperatorSetId[];
  metadataProps: StringStringEntry[];
  trainingInfo: TrainingInfoProto[];
  functions: FunctionProto[];
}

/** Any subset of `T`, recursively: what `encodeModel` accepts. */
export type ProtoInit<T> = T extends Uint8Array
  ? Uint8Array
  : T extends (infer E)[]
    ? ProtoInit<E>[]
    : T extends object
      ? { [K in keyof T]?: ProtoInit<NonNullable<T[K]>> }
      : T;

let modelType: protobuf.Type | undefined;

/** The ModelProto type, built on first use so importing this module stays side-effect free. */
function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
  return modelType;
}

/**
 * Decodes ONNX model bytes. Throws protobufjs's error (e.g. `index out of range` for a truncated
 * file, `max depth exceeded` past 100 nested messages); the caller turns it into a finding.
 * Pass a Node Buffer so that `bytes` fields come out as views of it rather than copies.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  const message = type.decode(bytes);
  // The cast is the schema boundary: ONNX_SCHEMA above and these interfaces describe the same
  // fields, and `defaults`/`arrays` make every declared field present. `bytes` is left unset so
  // byte fields stay the decoder's views.
  return type.toObject(message, { longs: Number, enums: Number, defaults: true, arrays: true }) as ModelProto;
}

/** Encodes a (partial) model; tests and the hostile corpus use it to craft exact bytes. */
export function encodeModel(model: ProtoInit<ModelProto>): Uint8Array {
  const type = modelProtoType();
  return type.encode(type.fromObject(model)).finish();
}
