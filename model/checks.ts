/**
 * The scan's findings and the checks on a decoded model that need nothing but the model: pure
 * functions from a model to findings, so that the activity and the `modelship scan` command
 * report exactly the same thing. Checks with more to say live beside this file:
 * `runtime-support.ts` (versions), `limits.ts`, `operators.ts`, `attributes.ts`,
 * `external-data.ts`.
 */
import { isExternal } from './external-data.ts';
import type { ScanCheckName, ScanFinding } from './findings.ts';
import type { ModelProto, StringStringEntry } from './proto.ts';
import { MIN_IR_VERSION } from './runtime-support.ts';
import { dataTypeName, dimsText, isKnownDataType, tensorByteSize } from './tensor-size.ts';
import { functionLabel, type ModelContents } from './walk.ts';

/**
 * Structural sanity: fields every loadable model has, and tensor headers that make sense
 * (a known data type, no negative dimension, inline `raw_data` exactly as long as the dims say).
 * Catches garbage that happens to decode, and tensors whose bytes disagree with their shape.
 */
export function checkStructure(model: ModelProto, contents: ModelContents): ScanFinding[] {
  const findings: ScanFinding[] = [];
  const error = (message: string, location?: string) =>
    findings.push({ check: 'structure', severity: 'error', message, ...(location ? { location } : {}) });
  if (model.irVersion < MIN_IR_VERSION) {
    error(
      `ir_version is ${model.irVersion}: missing or older than ${MIN_IR_VERSION}, not a usable ONNX model`,
    );
  }
  if (model.opsetImport.length === 0) error('the model imports no operator set (opset_import is empty)');
  if (!model.graph) {
    error('the model has no graph');
  } else if (model.graph.output.length === 0) {
    error('the graph declares no outputs', `graph:${model.graph.name}`);
  }
  for (const { node, location } of contents.nodes) {
    if (node.opType === '') error('node without an op_type', location);
  }
  for (const { tensor, location } of contents.tensors) {
    const name = JSON.stringify(tensor.name);
    if (!isKnownDataType(tensor.dataType)) {
      error(`tensor ${name} has ${dataTypeName(tensor.dataType)}, which ONNX does not define`, location);
      continue;
    }
    if (tensor.dims.some((dim) => dim < 0)) {
      error(`tensor ${name} has a negative dimension: dims ${dimsText(tensor.dims)}`, location);
      continue;
    }
    const expected = tensorByteSize(tensor);
    const raw = tensor.rawData.length;
    if (!isExternal(tensor) && raw > 0 && expected !== undefined && raw !== expected) {
      error(
        `tensor ${name} carries ${raw} bytes of raw_data, but its dims ${dimsText(tensor.dims)} of ${dataTypeName(tensor.dataType)} need ${expected}`,
        location,
      );
    }
  }
  return findings;
}

/**
 * Duplicate metadata keys (model, graphs, nodes, functions). Two readers of one file can pick
 * different entries (first wins here, last wins there), so a key set twice is refused rather
 * than guessed at.
 */
export function checkMetadata(model: ModelProto, contents: ModelContents): ScanFinding[] {
  const findings: ScanFinding[] = [];
  const scan = (entries: readonly StringStringEntry[], where: string, location?: string) => {
    const counts = new Map<string, number>();
    for (const { key } of entries) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const [key, count] of counts) {
      if (count < 2) continue;
      findings.push({
        check: 'metadata',
        severity: 'error',
        message: `metadata key ${JSON.stringify(key)} appears ${count} times in the ${where} metadata_props; duplicate keys are ambiguous`,
        ...(location ? { location } : {}),
      });
    }
  };
  scan(model.metadataProps, 'model');
  for (const { graph, location } of contents.graphs) scan(graph.metadataProps, 'graph', location);
  for (const { node, location } of contents.nodes) scan(node.metadataProps, 'node', location);
  model.functions.forEach((fn, index) => {
    scan(fn.metadataProps, 'function', functionLabel(fn, index));
  });
  return findings;
}

/**
 * Keeps reports readable when a model repeats one problem thousands of times: at most `limit`
 * findings per check, plus one line saying how many more there were.
 */
export function capFindings(findings: ScanFinding[], limit = 20): ScanFinding[] {
  const kept: ScanFinding[] = [];
  const dropped = new Map<ScanCheckName, { count: number; severity: ScanFinding['severity'] }>();
  const perCheck = new Map<ScanCheckName, number>();
  for (const finding of findings) {
    const seen = perCheck.get(finding.check) ?? 0;
    perCheck.set(finding.check, seen + 1);
    if (seen < limit) {
      kept.push(finding);
      continue;
    }
    const entry = dropped.get(finding.check) ?? { count: 0, severity: 'warning' };
    entry.count += 1;
    if (finding.severity === 'error') entry.severity = 'error';
    dropped.set(finding.check, entry);
  }
  for (const [check, { count, severity }] of dropped) {
    kept.push({ check, severity, message: `${count} more ${check} finding(s) not shown` });
  }
  return kept;
}
