/**
 * The scan's checks on a decoded model: pure functions from a model to findings, so that the
 * activity and the `modelship scan` command report exactly the same thing.
 */
import { isAbsolute as isAbsolutePosix, normalize } from 'node:path/posix';
import { DATA_LOCATION_EXTERNAL, type ModelProto, type TensorProto } from './proto.ts';
import { type ModelContents, qualifiedOp, type TensorSite } from './walk.ts';

/** The checks a scan runs, in order. */
export const SCAN_CHECKS = ['size', 'digest', 'structure', 'operators', 'external-data'] as const;
export type ScanCheckName = (typeof SCAN_CHECKS)[number];

export interface ScanFinding {
  check: ScanCheckName;
  /** `error` fails the scan; `warning` is reported and recorded but lets the model through. */
  severity: 'error' | 'warning';
  message: string;
  /** Where in the model, e.g. `graph:main/node:If_0/then_branch/node:Evil_3`. */
  location?: string;
}

/** Operator domains ONNX Runtime implements from the ONNX standard itself. */
export const DEFAULT_ALLOWED_DOMAINS: readonly string[] = ['', 'ai.onnx', 'ai.onnx.ml'];

/** IR version 3 introduced opset imports; anything older predates what ONNX Runtime loads. */
const MIN_IR_VERSION = 3;

/** Structural sanity: fields every loadable model has. Catches garbage that happens to decode. */
export function checkStructure(model: ModelProto): ScanFinding[] {
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
  return findings;
}

/**
 * Every node must use an allowed operator domain. A node that calls a function defined in the
 * model itself is accepted whatever its domain, because the function's own nodes are walked
 * and checked like any other.
 */
export function checkOperators(
  model: ModelProto,
  contents: ModelContents,
  allowedDomains: readonly string[] = DEFAULT_ALLOWED_DOMAINS,
): ScanFinding[] {
  const allowed = new Set(allowedDomains);
  const localFunctions = new Set(model.functions.map((fn) => `${fn.domain}\u0000${fn.name}`));
  const shown = allowedDomains.map((domain) => JSON.stringify(domain)).join(', ');
  const findings: ScanFinding[] = [];
  for (const { node, location } of contents.nodes) {
    if (node.opType === '') {
      findings.push({ check: 'structure', severity: 'error', message: 'node without an op_type', location });
      continue;
    }
    if (allowed.has(node.domain) || localFunctions.has(`${node.domain}\u0000${node.opType}`)) continue;
    findings.push({
      check: 'operators',
      severity: 'error',
      message: `node ${JSON.stringify(node.name)} (${qualifiedOp(node)}) uses operator domain ${JSON.stringify(node.domain)}, which is not allowed (allowed: ${shown})`,
      location,
    });
  }
  return findings;
}

/**
 * Why an external-data `location` is unsafe, or undefined when it is a plain relative path.
 * ONNX Runtime resolves it against the model file's directory, so anything that can leave that
 * directory (absolute, `..`, Windows separators it might honour, NUL truncation) is refused.
 */
export function unsafeLocationReason(location: string): string | undefined {
  if (location === '') return 'is empty';
  if (location.includes('\0')) return 'contains a NUL byte';
  if (location.includes('\\')) return 'contains a backslash';
  if (isAbsolutePosix(location) || /^[a-zA-Z]:/.test(location)) return 'is an absolute path';
  if (location.split('/').includes('..')) return 'contains a ".." segment';
  if (normalize(location) === '.') return "names the model's own directory";
  return undefined;
}

/** The `location` entry of a tensor's external data, if any. */
export function externalLocation(tensor: TensorProto): string | undefined {
  return tensor.externalData.find((entry) => entry.key === 'location')?.value;
}

/**
 * External data references. Unsafe locations are errors; a safe one is a warning, because a
 * bundle carries `model.onnx` alone and the tensor's bytes would be missing where it is served.
 */
export function checkExternalData(contents: ModelContents): ScanFinding[] {
  const findings: ScanFinding[] = [];
  for (const { tensor, location: at } of externalTensors(contents)) {
    const name = JSON.stringify(tensor.name);
    const location = externalLocation(tensor);
    if (location === undefined) {
      findings.push({
        check: 'external-data',
        severity: 'error',
        message: `tensor ${name} is marked as external data but names no location`,
        location: at,
      });
      continue;
    }
    const reason = unsafeLocationReason(location);
    findings.push(
      reason
        ? {
            check: 'external-data',
            severity: 'error',
            message: `tensor ${name} reads external data from ${JSON.stringify(location)}, which ${reason}`,
            location: at,
          }
        : {
            check: 'external-data',
            severity: 'warning',
            message: `tensor ${name} keeps its data outside the model file (${JSON.stringify(location)}); bundles carry model.onnx only`,
            location: at,
          },
    );
  }
  return findings;
}

/** Tensors whose payload lives in another file (marked EXTERNAL, or carrying external_data entries). */
export function externalTensors(contents: ModelContents): TensorSite[] {
  return contents.tensors.filter(
    ({ tensor }) => tensor.dataLocation === DATA_LOCATION_EXTERNAL || tensor.externalData.length > 0,
  );
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
