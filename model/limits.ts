/**
 * Configurable size limits of the scan, and the check that enforces the ones about the model's
 * contents (the file size itself is checked before the file is read, in `scan.ts`).
 *
 * Limits are a plain data object so that a deployment environment's policy file can carry them.
 */

import { isExternal } from './external-data.ts';
import type { ScanFinding } from './findings.ts';
import { DEFAULT_ALLOWED_DOMAINS } from './operators.ts';
import { dataTypeName, denseByteSize, dimsText, tensorByteSize } from './tensor-size.ts';
import type { ModelContents } from './walk.ts';

/** Limits a deployment may tighten or loosen through the worker's configuration. */
export interface ScanLimits {
  /** Largest model file accepted, in bytes. */
  maxBytes: number;
  /** Operator domains nodes may use. */
  allowedDomains: readonly string[];
  /** Most nodes in the whole model: main graph, subgraphs, functions and training graphs. */
  maxNodes: number;
  /** Deepest subgraph nesting: 0 is the main graph, 1 the body of one If/Loop/Scan in it, ... */
  maxGraphDepth: number;
  /**
   * Largest single tensor, by its declared dims × element size; a sparse tensor counts at its
   * dense size, because onnxruntime densifies sparse initializers when it loads them.
   */
  maxTensorBytes: number;
  /** Most bytes all external-data tensors together may bring in from other files. */
  maxExternalDataBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Defaults sized for the models modelship ships (tabular classifiers of kilobytes) with room for
 * large networks: 512 MiB files; 100 000 nodes (a transformer of billions of parameters exports
 * to tens of thousands); nesting 8 deep (real control flow rarely nests past 3 or 4, and
 * protobufjs stops at 100 nested messages, about 33 graph levels, anyway); 1 GiB per tensor and
 * 2 GiB of external data (ONNX's own reason for external data is protobuf's 2 GiB message cap).
 */
export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxBytes: 512 * MiB,
  allowedDomains: DEFAULT_ALLOWED_DOMAINS,
  maxNodes: 100_000,
  maxGraphDepth: 8,
  maxTensorBytes: GiB,
  maxExternalDataBytes: 2 * GiB,
};

const bytesText = (bytes: number) => (Number.isFinite(bytes) ? `${bytes} bytes` : 'more than 2^53 elements');

/** Node count, subgraph depth and tensor sizes against `limits`. */
export function checkLimits(contents: ModelContents, limits: ScanLimits): ScanFinding[] {
  const findings: ScanFinding[] = [];
  const over = (message: string, location?: string) =>
    findings.push({ check: 'limits', severity: 'error', message, ...(location ? { location } : {}) });

  if (contents.nodes.length > limits.maxNodes) {
    over(
      `the model has ${contents.nodes.length} nodes (main graph, subgraphs and functions), over the limit of ${limits.maxNodes}`,
    );
  }
  const deepest = contents.graphs.reduce<(typeof contents.graphs)[number] | undefined>(
    (max, site) => (max === undefined || site.depth > max.depth ? site : max),
    undefined,
  );
  if (deepest && deepest.depth > limits.maxGraphDepth) {
    over(
      `subgraphs are nested ${deepest.depth} levels deep, over the limit of ${limits.maxGraphDepth}`,
      deepest.location,
    );
  }

  let externalBytes = 0;
  for (const { tensor, location } of contents.tensors) {
    const size = tensorByteSize(tensor);
    if (size === undefined) continue;
    if (size > limits.maxTensorBytes) {
      over(
        `tensor ${JSON.stringify(tensor.name)} declares ${dimsText(tensor.dims)} ${dataTypeName(tensor.dataType)}, ${bytesText(size)}, over the ${limits.maxTensorBytes}-byte limit per tensor`,
        location,
      );
    }
    if (isExternal(tensor)) externalBytes += size;
  }
  for (const { sparse, location } of contents.sparseTensors) {
    const dataType = sparse.values?.dataType ?? 0;
    const size = denseByteSize(sparse.dims, dataType);
    if (size !== undefined && size > limits.maxTensorBytes) {
      over(
        `sparse tensor ${JSON.stringify(sparse.values?.name ?? '')} declares dense shape ${dimsText(sparse.dims)} ${dataTypeName(dataType)}, ${bytesText(size)} once densified, over the ${limits.maxTensorBytes}-byte limit per tensor`,
        location,
      );
    }
  }
  if (externalBytes > limits.maxExternalDataBytes) {
    over(
      `external-data tensors declare ${bytesText(externalBytes)} in total, over the ${limits.maxExternalDataBytes}-byte limit`,
    );
  }
  return findings;
}
