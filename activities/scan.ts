/**
 * `scanModel`: offline security and structure checks of a model file, without onnxruntime —
 * size limit, digest, protobuf structure, operator domains (graph, subgraphs, functions) and
 * external-data paths. `modelship scan` runs the same `scanModelFile` on files in a checkout.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ResolvedArtifact } from './artifact.ts';
import type { DeploymentRef } from './deployment.ts';
import { hasErrorCode, heartbeat, isWithin, sha256Hex } from './digest.ts';
import { domainFailure, FailureType } from './failures.ts';
import {
  capFindings,
  checkExternalData,
  checkOperators,
  checkStructure,
  DEFAULT_ALLOWED_DOMAINS,
  externalLocation,
  externalTensors,
  SCAN_CHECKS,
  type ScanCheckName,
  type ScanFinding,
  unsafeLocationReason,
} from './onnx/checks.ts';
import { decodeModel, type ModelProto, type OperatorSetId } from './onnx/proto.ts';
import { type ModelContents, walkModel } from './onnx/walk.ts';

export type { ScanCheckName, ScanFinding } from './onnx/checks.ts';

export interface ScanModelInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
}

/** Limits a deployment may tighten or loosen through the worker's configuration. */
export interface ScanLimits {
  /** Largest model file accepted, in bytes. */
  maxBytes: number;
  /** Operator domains nodes may use. */
  allowedDomains: readonly string[];
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxBytes: 512 * 1024 * 1024,
  allowedDomains: DEFAULT_ALLOWED_DOMAINS,
};

export interface ScanCheckResult {
  name: ScanCheckName;
  passed: boolean;
  detail?: string;
}

/** What the scan learnt about the model, for the manifest and for people. */
export interface ScanModelInfo {
  irVersion: number;
  /** `producer_name producer_version`, e.g. `skl2onnx 1.20.0`. */
  producer: string;
  opsets: OperatorSetId[];
  /** Nodes in all graphs: main graph, subgraphs and model-local functions. */
  nodeCount: number;
  /** Initializers of the main graph. */
  initializerCount: number;
  graphName: string;
}

export interface ScanReport {
  /** False when any finding is an error. */
  passed: boolean;
  findings: ScanFinding[];
  /** Every check in `SCAN_CHECKS` order; one that could not run is reported as not passed. */
  checks: ScanCheckResult[];
  /** Null when the file is too large or does not decode. */
  model: ScanModelInfo | null;
  /** sha256 of the scanned bytes, null when the file was too large to read. */
  sha256: string | null;
  sizeBytes: number;
}

export interface ScanFileOptions extends Partial<ScanLimits> {
  /** Digest the bytes must have; without it the digest check only reports the digest. */
  expectedSha256?: string;
}

/**
 * Scans one model file. Rejects only when the file cannot be read (ENOENT and the like); every
 * problem with its content is a finding in the report.
 */
export async function scanModelFile(filePath: string, options: ScanFileOptions = {}): Promise<ScanReport> {
  const limits = { ...DEFAULT_SCAN_LIMITS, ...options };
  const findings: ScanFinding[] = [];
  const details = new Map<ScanCheckName, string>();
  const notRun = (reason: string, ...names: ScanCheckName[]) => {
    for (const name of names) details.set(name, `not run: ${reason}`);
  };
  const finish = (model: ScanModelInfo | null, sha256: string | null, sizeBytes: number): ScanReport => {
    const kept = capFindings(findings);
    const checks = SCAN_CHECKS.map((name): ScanCheckResult => {
      const detail = details.get(name);
      const failed =
        detail?.startsWith('not run') || kept.some((f) => f.check === name && f.severity === 'error');
      return { name, passed: !failed, ...(detail ? { detail } : {}) };
    });
    return {
      passed: !kept.some((f) => f.severity === 'error'),
      findings: kept,
      checks,
      model,
      sha256,
      sizeBytes,
    };
  };

  const overLimit = (size: number) => {
    findings.push({
      check: 'size',
      severity: 'error',
      message: `the model file is ${size} bytes, over the ${limits.maxBytes}-byte limit`,
    });
    notRun('the file is over the size limit', 'digest', 'structure', 'operators', 'external-data');
    return finish(null, null, size);
  };
  // Checked before reading, so an oversized file is never loaded into memory.
  const { size } = await stat(filePath);
  if (size > limits.maxBytes) return overLimit(size);
  details.set('size', `${size} bytes (limit ${limits.maxBytes})`);

  // Everything below looks at this one buffer, so the bytes hashed are the bytes parsed.
  const bytes = await readFile(filePath);
  if (bytes.length > limits.maxBytes) return overLimit(bytes.length); // grew since the stat
  heartbeat({ scanned: 'read' });
  const sha256 = sha256Hex(bytes);
  const expected = options.expectedSha256?.toLowerCase();
  if (expected === undefined) {
    details.set('digest', `sha256 ${sha256} (no expected digest given)`);
  } else if (sha256 !== expected) {
    findings.push({
      check: 'digest',
      severity: 'error',
      message: `the bytes have sha256 ${sha256}, the artifact declares sha256 ${expected}`,
    });
  } else {
    details.set('digest', `sha256 ${sha256}`);
  }

  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    findings.push({
      check: 'structure',
      severity: 'error',
      message: `not a valid ONNX protobuf (truncated or corrupt file?): ${(error as Error).message}`,
    });
    notRun('the model did not decode', 'operators', 'external-data');
    return finish(null, sha256, bytes.length);
  }
  heartbeat({ scanned: 'decoded' });
  const contents = walkModel(model);
  findings.push(...checkStructure(model));
  findings.push(...checkOperators(model, contents, limits.allowedDomains));
  details.set(
    'operators',
    `${contents.nodes.length} nodes in ${contents.graphs} graph(s) and ${model.functions.length} function(s)`,
  );
  findings.push(...checkExternalData(contents));
  findings.push(...(await checkExternalDataOnDisk(contents, dirname(resolve(filePath)))));
  return finish(describeModel(model, contents), sha256, bytes.length);
}

/**
 * Lexically safe external-data paths can still leave the model's directory through a symlink;
 * for the ones that exist on disk, compare real paths.
 */
async function checkExternalDataOnDisk(contents: ModelContents, modelDir: string): Promise<ScanFinding[]> {
  const findings: ScanFinding[] = [];
  const realDir = await realpath(modelDir);
  for (const { tensor, location: at } of externalTensors(contents)) {
    const location = externalLocation(tensor);
    if (location === undefined || unsafeLocationReason(location) !== undefined) continue;
    const real = await realpath(resolve(modelDir, location)).catch((error: unknown) => {
      if (hasErrorCode(error, 'ENOENT', 'ENOTDIR', 'ELOOP')) return undefined;
      throw error;
    });
    if (real !== undefined && !isWithin(realDir, real)) {
      findings.push({
        check: 'external-data',
        severity: 'error',
        message: `tensor ${JSON.stringify(tensor.name)} reads external data from ${JSON.stringify(location)}, which escapes the model's directory (it resolves to ${real})`,
        location: at,
      });
    }
  }
  return findings;
}

function describeModel(model: ModelProto, contents: ModelContents): ScanModelInfo {
  return {
    irVersion: model.irVersion,
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
    opsets: model.opsetImport.map(({ domain, version }) => ({ domain, version })),
    nodeCount: contents.nodes.length,
    initializerCount: model.graph?.initializer.length ?? 0,
    graphName: model.graph?.name ?? '',
  };
}

/** One line per finding, `check: message (at location)`, for failure messages and the CLI. */
export function formatFinding(finding: ScanFinding): string {
  return `${finding.check}: ${finding.message}${finding.location ? ` (at ${finding.location})` : ''}`;
}

/** Builds the scan activities; `limits` override `DEFAULT_SCAN_LIMITS`. */
export function createScanActivities(deps: { home: string; limits?: Partial<ScanLimits> }) {
  return {
    /** Scans the stored artifact; any error finding throws `ScanFailed` with the report as details. */
    async scanModel(input: ScanModelInput): Promise<ScanReport> {
      const { artifact } = input;
      const report = await scanModelFile(artifact.path, {
        ...deps.limits,
        expectedSha256: artifact.sha256,
      }).catch((error: unknown) => {
        if (!hasErrorCode(error, 'ENOENT')) throw error;
        throw domainFailure(FailureType.ArtifactNotFound, `stored artifact ${artifact.path} is missing`, {
          path: artifact.path,
        });
      });
      if (!report.passed) {
        const errors = report.findings.filter((f) => f.severity === 'error');
        throw domainFailure(
          FailureType.ScanFailed,
          `scan of "${artifact.source}" (sha256 ${artifact.sha256.slice(0, 12)}…) found ${errors.length} error(s): ${errors.map(formatFinding).join('; ')}`,
          report,
        );
      }
      return report;
    },
  };
}
