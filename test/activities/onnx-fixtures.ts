/** Small hand-built ONNX models for scan tests, encoded with our own schema (`model/proto.ts`). */
import {
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type ProtoInit,
  type TensorProto,
} from '../../model/proto.ts';

const FLOAT = 1;
const ATTRIBUTE_GRAPH = 5;
const ATTRIBUTE_TENSOR = 4;

const floatVector = (name: string) => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 4 }] } } },
});

/** `y = Identity(x)` plus whatever extra nodes and initializers a test adds. */
export function graph(options: {
  name?: string;
  nodes?: ProtoInit<NodeProto>[];
  initializer?: ProtoInit<GraphProto>['initializer'];
}): ProtoInit<GraphProto> {
  return {
    name: options.name ?? 'main',
    node: [{ name: 'identity', opType: 'Identity', input: ['x'], output: ['y'] }, ...(options.nodes ?? [])],
    input: [floatVector('x')],
    output: [floatVector('y')],
    initializer: options.initializer ?? [],
  };
}

/** A complete model around `graph`; with no arguments, a valid model onnxruntime loads. */
export function model(overrides: ProtoInit<ModelProto> = {}): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'modelship-tests',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 17 }],
    graph: graph({}),
    ...overrides,
  });
}

/** A node from a custom operator domain. */
export function customNode(name: string, domain = 'com.evil'): ProtoInit<NodeProto> {
  return { name, opType: 'Exfiltrate', domain, input: ['x'], output: [`${name}_out`] };
}

/** An `If` node whose then-branch holds `inner`. */
export function ifNode(inner: ProtoInit<NodeProto>): ProtoInit<NodeProto> {
  return {
    name: 'branch',
    opType: 'If',
    input: ['cond'],
    output: ['branch_out'],
    attribute: [
      {
        name: 'then_branch',
        type: ATTRIBUTE_GRAPH,
        g: { name: 'then', node: [inner], output: [floatVector('t')] },
      },
      { name: 'else_branch', type: ATTRIBUTE_GRAPH, g: graph({ name: 'else' }) },
    ],
  };
}

/** An initializer whose bytes live in another file. */
export function externalTensor(name: string, entries: Record<string, string>, dataLocation = 1) {
  return {
    name,
    dims: [4],
    dataType: FLOAT,
    dataLocation,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
  };
}

/** A `Constant` node whose `value` attribute tensor is external. */
export function constantWithExternal(location: string): ProtoInit<NodeProto> {
  return {
    name: 'const',
    opType: 'Constant',
    output: ['c'],
    attribute: [{ name: 'value', type: ATTRIBUTE_TENSOR, t: externalTensor('c', { location }) }],
  };
}

const INT64 = 7;
const BOOL = 9;
const ATTRIBUTE_INT = 2;

const int64Bytes = (...values: bigint[]) => new Uint8Array(BigInt64Array.from(values).buffer);
const floatBytes = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const scalar = (name: string, elemType: number) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: [] } } },
});
const intAttribute = (name: string, i: number) => ({ name, type: ATTRIBUTE_INT, i });

/**
 * A classifier shaped like the iris examples' input and `label` output (float [N, 4] → int64
 * [N]) whose `label` is ArgMax(input + tail), with `tail` computed by the given nodes from
 * `input`: the nodes decide what running the model costs.
 */
function irisShaped(nodes: ProtoInit<NodeProto>[], initializer: ProtoInit<TensorProto>[]) {
  const batch = { dimParam: 'batch' };
  return encodeModel({
    irVersion: 8,
    producerName: 'modelship-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'main',
      input: [
        {
          name: 'input',
          type: { tensorType: { elemType: FLOAT, shape: { dim: [batch, { dimValue: 4 }] } } },
        },
      ],
      output: [{ name: 'label', type: { tensorType: { elemType: INT64, shape: { dim: [batch] } } } }],
      initializer,
      node: [
        ...nodes,
        { opType: 'Add', input: ['input', 'tail'], output: ['shifted'] },
        {
          opType: 'ArgMax',
          input: ['shifted'],
          output: ['label'],
          attribute: [intAttribute('axis', 1), intAttribute('keepdims', 0)],
        },
      ],
    },
  });
}

/** Loads fine, then never finishes a run: a Loop of 10^15 iterations that depends on the input. */
export function hangingModel(): Uint8Array {
  return irisShaped(
    [
      { opType: 'ReduceMax', input: ['input'], output: ['start'], attribute: [intAttribute('keepdims', 0)] },
      {
        name: 'forever',
        opType: 'Loop',
        input: ['trips', 'always', 'start'],
        output: ['tail'],
        attribute: [
          {
            name: 'body',
            type: ATTRIBUTE_GRAPH,
            g: {
              name: 'body',
              input: [scalar('i', INT64), scalar('cond_in', BOOL), scalar('x_in', FLOAT)],
              output: [scalar('cond_out', BOOL), scalar('x_out', FLOAT)],
              node: [
                { opType: 'Identity', input: ['cond_in'], output: ['cond_out'] },
                { opType: 'Add', input: ['x_in', 'one'], output: ['x_out'] },
              ],
            },
          },
        ],
      },
    ],
    [
      { name: 'trips', dims: [], dataType: INT64, rawData: int64Bytes(10n ** 15n) },
      { name: 'always', dims: [], dataType: BOOL, rawData: new Uint8Array([1]) },
      { name: 'one', dims: [], dataType: FLOAT, rawData: floatBytes(1) },
    ],
  );
}

/** Needs `side`² floats (4·side² bytes) of working memory to compute its output. */
export function memoryHungryModel(side: number): Uint8Array {
  return irisShaped(
    [
      { opType: 'ReduceMax', input: ['input'], output: ['seed'], attribute: [intAttribute('keepdims', 0)] },
      { opType: 'ConstantOfShape', input: ['shape'], output: ['zeros'] },
      { opType: 'Add', input: ['zeros', 'seed'], output: ['big'] },
      { opType: 'ReduceSum', input: ['big'], output: ['tail'], attribute: [intAttribute('keepdims', 0)] },
    ],
    [{ name: 'shape', dims: [2], dataType: INT64, rawData: int64Bytes(BigInt(side), BigInt(side)) }],
  );
}

/** Passes the scan (every node in the default domain) but names an operator onnxruntime does not have. */
export function unknownOperatorModel(): Uint8Array {
  return model({
    graph: graph({ nodes: [{ name: 'mystery', opType: 'NoSuchOperator', input: ['x'], output: ['z'] }] }),
  });
}
