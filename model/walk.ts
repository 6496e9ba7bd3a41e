/**
 * Flattens a decoded model into everything the scan checks, wherever it hides: the main graph,
 * subgraphs in node attributes (If/Loop/Scan bodies, at any depth), model-local functions (their
 * nodes and their attribute defaults) and training graphs. Each item carries a readable location
 * such as `graph:main/node:If_0/then_branch/node:Evil_3`.
 */
import type {
  AttributeProto,
  FunctionProto,
  GraphProto,
  ModelProto,
  NodeProto,
  SparseTensorProto,
  TensorProto,
} from './proto.ts';

interface NodeSite {
  node: NodeProto;
  location: string;
}

export interface TensorSite {
  tensor: TensorProto;
  location: string;
}

interface SparseTensorSite {
  sparse: SparseTensorProto;
  location: string;
}

interface AttributeSite {
  attribute: AttributeProto;
  /** The node it belongs to; null for a function's attribute default. */
  node: NodeProto | null;
  location: string;
}

interface GraphSite {
  graph: GraphProto;
  location: string;
  /** 0 for the main graph and training graphs, 1 for a subgraph of one of their nodes, ... */
  depth: number;
}

/** Everything reachable in a model, in a stable order (document order, depth first). */
export interface ModelContents {
  nodes: NodeSite[];
  /** Dense tensors: initializers, attribute tensors, and the values/indices of sparse ones. */
  tensors: TensorSite[];
  sparseTensors: SparseTensorSite[];
  attributes: AttributeSite[];
  /** Every graph visited, main graph and subgraphs included. */
  graphs: GraphSite[];
}

/** How a node appears in a location: its name, or its index when unnamed. */
function nodeLabel(node: NodeProto, index: number): string {
  return node.name === '' ? `node:#${index}` : `node:${node.name}`;
}

/** `domain:opType`, with the default domain left implicit (`Add`, `ai.onnx.ml:Scaler`). */
export function qualifiedOp(node: { domain: string; opType: string }): string {
  return node.domain === '' ? node.opType : `${node.domain}:${node.opType}`;
}

/** How a function appears in a location: `function:local.fns.Helper`. */
export function functionLabel(fn: FunctionProto, index: number): string {
  return `function:${fn.domain ? `${fn.domain}.` : ''}${fn.name || `#${index}`}`;
}

/** Collects everything of the model; see the module comment. */
export function walkModel(model: ModelProto): ModelContents {
  const contents: ModelContents = { nodes: [], tensors: [], sparseTensors: [], attributes: [], graphs: [] };
  if (model.graph) walkGraph(model.graph, `graph:${model.graph.name || '#main'}`, 0, contents);
  model.functions.forEach((fn, index) => {
    const where = functionLabel(fn, index);
    for (const attribute of fn.attributeProto) {
      walkAttribute(attribute, null, `${where}/attribute_proto:${attribute.name || '#'}`, 0, contents);
    }
    walkNodes(fn.node, where, 0, contents);
  });
  model.trainingInfo.forEach((info, index) => {
    if (info.initialization) {
      walkGraph(info.initialization, `training[${index}].initialization`, 0, contents);
    }
    if (info.algorithm) walkGraph(info.algorithm, `training[${index}].algorithm`, 0, contents);
  });
  return contents;
}

function walkGraph(graph: GraphProto, where: string, depth: number, contents: ModelContents): void {
  contents.graphs.push({ graph, location: where, depth });
  for (const tensor of graph.initializer) addTensor(tensor, `${where}/initializer:${tensor.name}`, contents);
  graph.sparseInitializer.forEach((sparse, index) => {
    const name = sparse.values?.name || `#${index}`;
    addSparse(sparse, `${where}/sparse_initializer:${name}`, contents);
  });
  walkNodes(graph.node, where, depth, contents);
}

function walkNodes(nodes: NodeProto[], where: string, depth: number, contents: ModelContents): void {
  nodes.forEach((node, index) => {
    const at = `${where}/${nodeLabel(node, index)}`;
    contents.nodes.push({ node, location: at });
    for (const attribute of node.attribute) {
      walkAttribute(attribute, node, `${at}/${attribute.name || 'attribute'}`, depth, contents);
    }
  });
}

/** `depth` is the depth of the graph (or function body) the attribute's node lives in. */
function walkAttribute(
  attribute: AttributeProto,
  node: NodeProto | null,
  at: string,
  depth: number,
  contents: ModelContents,
): void {
  contents.attributes.push({ attribute, node, location: at });
  if (attribute.t) addTensor(attribute.t, at, contents);
  for (const [i, tensor] of attribute.tensors.entries()) addTensor(tensor, `${at}[${i}]`, contents);
  if (attribute.sparseTensor) addSparse(attribute.sparseTensor, at, contents);
  for (const [i, sparse] of attribute.sparseTensors.entries()) addSparse(sparse, `${at}[${i}]`, contents);
  if (attribute.g) walkGraph(attribute.g, at, depth + 1, contents);
  for (const [i, graph] of attribute.graphs.entries()) walkGraph(graph, `${at}[${i}]`, depth + 1, contents);
}

function addTensor(tensor: TensorProto, location: string, contents: ModelContents): void {
  contents.tensors.push({ tensor, location });
}

function addSparse(sparse: SparseTensorProto, location: string, contents: ModelContents): void {
  contents.sparseTensors.push({ sparse, location });
  if (sparse.values) addTensor(sparse.values, `${location}.values`, contents);
  if (sparse.indices) addTensor(sparse.indices, `${location}.indices`, contents);
}
