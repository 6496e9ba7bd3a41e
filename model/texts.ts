/**
 * The free text inside an ONNX model, for the secret scan: the model's, graphs', nodes',
 * attributes', tensors' and functions' doc_strings and every metadata_props value. Each text
 * carries a location a person can find it by, e.g. `model.onnx#metadata_props[api_key]` or
 * `model.onnx#graph:main/node:If_0/then_branch/node:Add_1/doc_string`.
 */
import { basename } from 'node:path';
import {
  type AttributeProto,
  decodeModel,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from './proto.ts';

export interface ModelText {
  location: string;
  text: string;
  /** For metadata values: the key they are stored under (credential-named keys get a closer look). */
  metadataKey?: string;
}

/** Every text of the model; an undecodable model has none (the structure scan refuses it). */
export function modelTexts(bytes: Uint8Array, source: string): ModelText[] {
  const file = basename(source.replace(/[?#].*$/, '')) || 'model.onnx';
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(bytes);
  } catch {
    return [];
  }
  const texts: ModelText[] = [];
  const add = (where: string, text: string | undefined) => {
    if (text) texts.push({ location: `${file}#${where}`, text });
  };
  add('doc_string', model.docString);
  for (const entry of model.metadataProps) {
    texts.push({
      location: `${file}#metadata_props[${entry.key}]`,
      text: entry.value,
      metadataKey: entry.key,
    });
  }
  const tensor = (where: string, t: TensorProto | null) => {
    if (t) add(`${where}/tensor:${t.name}/doc_string`, t.docString);
  };
  const attribute = (where: string, a: AttributeProto) => {
    const at = `${where}/${a.name}`;
    add(`${at}/doc_string`, a.docString);
    tensor(at, a.t);
    for (const t of a.tensors) tensor(at, t);
    if (a.g) graph(at, a.g);
    for (const g of a.graphs) graph(at, g);
  };
  const node = (where: string, n: NodeProto, index: number) => {
    const at = `${where}/node:${n.name || `${n.opType}_${index}`}`;
    add(`${at}/doc_string`, n.docString);
    for (const a of n.attribute) attribute(at, a);
  };
  const graph = (where: string, g: GraphProto) => {
    const at = `${where ? `${where}/` : ''}graph:${g.name}`;
    add(`${at}/doc_string`, g.docString);
    for (const t of g.initializer) tensor(at, t);
    for (const [index, n] of g.node.entries()) node(at, n, index);
  };
  if (model.graph) graph('', model.graph);
  for (const fn of model.functions) {
    const at = `function:${fn.domain}.${fn.name}`;
    add(`${at}/doc_string`, fn.docString);
    for (const [index, n] of fn.node.entries()) node(at, n, index);
  }
  return texts;
}
