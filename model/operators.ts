/**
 * Which operators a model may call: nodes in allowed domains only, and never `EPContext`, the
 * node type that carries a precompiled execution-provider blob (inline, or in a file it names)
 * which onnxruntime hands to hardware-vendor code instead of running ONNX operators.
 */
import type { ScanFinding } from './findings.ts';
import type { ModelProto } from './proto.ts';
import { type ModelContents, qualifiedOp } from './walk.ts';

/** Operator domains ONNX Runtime implements from the ONNX standard itself. */
export const DEFAULT_ALLOWED_DOMAINS: readonly string[] = ['', 'ai.onnx', 'ai.onnx.ml'];

/** The op_type onnxruntime gives execution-provider context nodes (domain com.microsoft). */
const EP_CONTEXT_OP = 'EPContext';

/**
 * Every node must use an allowed operator domain. A node that calls a function defined in the
 * model itself is accepted whatever its domain, because the function's own nodes are walked
 * and checked like any other. `EPContext` is refused in any domain, even an allowed one.
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
    if (node.opType === '') continue; // a structure finding
    const name = JSON.stringify(node.name);
    if (node.opType === EP_CONTEXT_OP) {
      findings.push({
        check: 'operators',
        severity: 'error',
        message: `node ${name} (${qualifiedOp(node)}) is an EPContext node: precompiled execution-provider blobs are not accepted, ship the original ONNX graph`,
        location,
      });
    }
    if (allowed.has(node.domain) || localFunctions.has(`${node.domain}\u0000${node.opType}`)) continue;
    findings.push({
      check: 'operators',
      severity: 'error',
      message: `node ${name} (${qualifiedOp(node)}) uses operator domain ${JSON.stringify(node.domain)}, which is not allowed (allowed: ${shown})`,
      location,
    });
  }
  return findings;
}
