/** Small hand-built ONNX models for scan tests, encoded with our own schema (`activities/onnx/proto.ts`). */
import {
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type ProtoInit,
} from '../../activities/onnx/proto.ts';

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
