/**
 * Flattens a decoded model into the nodes and tensors the scan checks, wherever they hide:
 * the main graph, subgraphs in node attributes (If/Loop/Scan bodies, at any depth), model-local
 * functions and training graphs. Each item carries a readable location such as
 * `graph:main/node:If_0/then_branch/node:Evil_3`.
 */
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  SparseTensorProto,
  TensorProto,
} from './proto.ts';

export interface NodeSite {
  node: NodeProto;
  location: string;
}

export interface TensorSite {
  tensor: TensorProto;
  location: string;
}

/** Everything reachable in a model, in a stable order (document order, depth first). */
export interface ModelContents {
  nodes: NodeSite[];
  tensors: TensorSite[];
  /** Number of graphs visited, main graph and subgraphs included. */
  graphs: number;
}

/** How a node appears in a location: its name, or its index when unnamed. */
export function nodeLabel(node: NodeProto, index: number): string {
  return node.name === '' ? `node:#${index}` : `node:${node.name}`;
}

/** `domain:opType`, with the default domain left implicit (`Add`, `ai.onnx.ml:Scaler`). */
export function qualifiedOp(node: { domain: string; opType: string }): string {
  return node.domain === '' ? node.opType : `${node.domain}:${node.opType}`;
}

/** Collects every node and tensor of the model; see the module comment. */
export function walkModel(model: ModelProto): ModelContents {
  const contents: ModelContents = { nodes: [], tensors: [], graphs: 0 };
  if (model.graph) walkGraph(model.graph, `graph:${model.graph.name || '#main'}`, contents);
  model.functions.forEach((fn, index) => {
    const where = `function:${fn.domain ? `${fn.domain}.` : ''}${fn.name || `#${index}`}`;
    walkNodes(fn.node, where, contents);
  });
  model.trainingInfo.forEach((info, index) => {
    if (info.initialization) walkGraph(info.initialization, `training[${index}].initialization`, contents);
    if (info.algorithm) walkGraph(info.algorithm, `training[${index}].algorithm`, contents);
  });
  return contents;
}

function walkGraph(graph: GraphProto, where: string, contents: ModelContents): void {
  contents.graphs += 1;
  for (const tensor of graph.initializer) addTensor(tensor, `${where}/initializer:${tensor.name}`, contents);
  for (const sparse of graph.sparseInitializer) addSparse(sparse, `${where}/sparse_initializer`, contents);
  walkNodes(graph.node, where, contents);
}

function walkNodes(nodes: NodeProto[], where: string, contents: ModelContents): void {
  nodes.forEach((node, index) => {
    const at = `${where}/${nodeLabel(node, index)}`;
    contents.nodes.push({ node, location: at });
    for (const attribute of node.attribute) walkAttribute(attribute, at, contents);
  });
}

function walkAttribute(attribute: AttributeProto, nodeAt: string, contents: ModelContents): void {
  const at = `${nodeAt}/${attribute.name || 'attribute'}`;
  if (attribute.t) addTensor(attribute.t, at, contents);
  for (const [i, tensor] of attribute.tensors.entries()) addTensor(tensor, `${at}[${i}]`, contents);
  if (attribute.sparseTensor) addSparse(attribute.sparseTensor, at, contents);
  for (const [i, sparse] of attribute.sparseTensors.entries()) addSparse(sparse, `${at}[${i}]`, contents);
  if (attribute.g) walkGraph(attribute.g, at, contents);
  for (const [i, graph] of attribute.graphs.entries()) walkGraph(graph, `${at}[${i}]`, contents);
}

function addTensor(tensor: TensorProto, location: string, contents: ModelContents): void {
  contents.tensors.push({ tensor, location });
}

function addSparse(sparse: SparseTensorProto, location: string, contents: ModelContents): void {
  if (sparse.values) addTensor(sparse.values, `${location}.values`, contents);
  if (sparse.indices) addTensor(sparse.indices, `${location}.indices`, contents);
}
