/**
 * The offline security and structure scan of a model file, without onnxruntime. The protobuf is
 * parsed with protobufjs (`proto.ts`) and every tensor, node, attribute and subgraph is walked
 * (`walk.ts`): size limit, digest, structure, IR and opset versions the bundled onnxruntime can
 * run, node/nesting/byte limits, operator domains and EPContext nodes, attributes that name files,
 * external data (paths, symlinks, byte ranges) and duplicate metadata keys. Every problem with the
 * content is a finding in the report; what to do with a failed report is the caller's business.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { checkAttributes } from './attributes.ts';
import { capFindings, checkMetadata, checkStructure } from './checks.ts';
import { checkExternalData, checkExternalDataFiles, externalTensors } from './external-data.ts';
import { type OnProgress, sha256Hex } from './files.ts';
import { SCAN_CHECKS, type ScanCheckName, type ScanFinding } from './findings.ts';
import { checkLimits, DEFAULT_SCAN_LIMITS, type ScanLimits } from './limits.ts';
import { checkOperators } from './operators.ts';
import { decodeModel, type ModelProto, type OperatorSetId } from './proto.ts';
import { checkVersions, MAX_IR_VERSION } from './runtime-support.ts';
import { tensorByteSize } from './tensor-size.ts';
import { type ModelContents, walkModel } from './walk.ts';

export { DEFAULT_SCAN_LIMITS, type ScanLimits } from './limits.ts';

interface ScanCheckResult {
  name: ScanCheckName;
  passed: boolean;
  detail?: string;
}

/** What the scan learnt about the model, for the manifest and for people. */
interface ScanModelInfo {
  irVersion: number;
  /** `producer_name producer_version`, e.g. `skl2onnx 1.20.0`. */
  producer: string;
  opsets: OperatorSetId[];
  /** Nodes in all graphs: main graph, subgraphs and model-local functions. */
  nodeCount: number;
  /** Initializers of the main graph. */
  initializerCount: number;
  graphName: string;
  /** Graphs walked: main graph, subgraphs and training graphs. */
  graphCount: number;
  /** Deepest subgraph nesting (0 when there are no subgraphs). */
  maxGraphDepth: number;
  /** Model-local functions. */
  functionCount: number;
  /** Entries of the model's metadata_props. */
  metadataCount: number;
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

interface ScanFileOptions extends Partial<ScanLimits> {
  /** Digest the bytes must have; without it the digest check only reports the digest. */
  expectedSha256?: string;
  /**
   * The model's directory, where its external-data files are (default: the file's own directory).
   * The workflow scans the store copy of the model file but its external data where the spec put
   * the model, so a hostile reference is refused at the scan with what it points at.
   */
  modelDir?: string;
  /** Called after reading and after decoding (an activity heartbeats on it). */
  onProgress?: OnProgress;
}

/** The checks that need the decoded model: every check after `structure`. */
const MODEL_CHECKS: ScanCheckName[] = SCAN_CHECKS.slice(SCAN_CHECKS.indexOf('structure') + 1);

/**
 * Scans one model file; external-data files are looked for in its directory (the bundle).
 * Rejects only when the file cannot be read (ENOENT and the like); every problem with its
 * content is a finding in the report.
 */
export async function scanModelFile(filePath: string, options: ScanFileOptions = {}): Promise<ScanReport> {
  const { expectedSha256, modelDir, onProgress, ...overrides } = options;
  const limits: ScanLimits = { ...DEFAULT_SCAN_LIMITS, ...overrides };
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
    notRun('the file is over the size limit', 'digest', 'structure', ...MODEL_CHECKS);
    return finish(null, null, size);
  };
  // Checked before reading, so an oversized file is never loaded into memory.
  const { size } = await stat(filePath);
  if (size > limits.maxBytes) return overLimit(size);
  details.set('size', `${size} bytes (limit ${limits.maxBytes})`);

  // Everything below looks at this one buffer, so the bytes hashed are the bytes parsed.
  const bytes = await readFile(filePath);
  if (bytes.length > limits.maxBytes) return overLimit(bytes.length); // grew since the stat
  onProgress?.({ scannedBytes: bytes.length });
  const sha256 = sha256Hex(bytes);
  const expected = expectedSha256?.toLowerCase();
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
    notRun('the model did not decode', ...MODEL_CHECKS);
    return finish(null, sha256, bytes.length);
  }
  onProgress?.({ decodedBytes: bytes.length });
  const contents = walkModel(model);
  const info = describeModel(model, contents);
  findings.push(...checkStructure(model, contents));
  findings.push(...checkVersions(model));
  findings.push(...checkLimits(contents, limits));
  findings.push(...checkOperators(model, contents, limits.allowedDomains));
  findings.push(...checkAttributes(contents));
  findings.push(...checkExternalData(contents));
  findings.push(...(await checkExternalDataFiles(contents, modelDir ?? dirname(resolve(filePath)))));
  findings.push(...checkMetadata(model, contents));
  describeChecks(details, info, contents, limits);
  return finish(info, sha256, bytes.length);
}

/** One line per model check saying what was looked at, against which limit. */
function describeChecks(
  details: Map<ScanCheckName, string>,
  info: ScanModelInfo,
  contents: ModelContents,
  limits: ScanLimits,
): void {
  const opsets = info.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
  details.set('versions', `ir ${info.irVersion} (runtime takes up to ${MAX_IR_VERSION}), opsets ${opsets}`);
  const largest = contents.tensors.reduce((max, { tensor }) => Math.max(max, tensorByteSize(tensor) ?? 0), 0);
  details.set(
    'limits',
    `${info.nodeCount} nodes (limit ${limits.maxNodes}), nesting depth ${info.maxGraphDepth} (limit ${limits.maxGraphDepth}), largest tensor ${largest} bytes (limit ${limits.maxTensorBytes})`,
  );
  details.set(
    'operators',
    `${info.nodeCount} nodes in ${info.graphCount} graph(s) and ${info.functionCount} function(s)`,
  );
  details.set('attributes', `${contents.attributes.length} attributes`);
  details.set('external-data', `${externalTensors(contents).length} external tensor(s)`);
  details.set('metadata', `${info.metadataCount} model metadata entries`);
}

function describeModel(model: ModelProto, contents: ModelContents): ScanModelInfo {
  return {
    irVersion: model.irVersion,
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
    opsets: model.opsetImport.map(({ domain, version }) => ({ domain, version })),
    nodeCount: contents.nodes.length,
    initializerCount: model.graph?.initializer.length ?? 0,
    graphName: model.graph?.name ?? '',
    graphCount: contents.graphs.length,
    maxGraphDepth: contents.graphs.reduce((max, site) => Math.max(max, site.depth), 0),
    functionCount: model.functions.length,
    metadataCount: model.metadataProps.length,
  };
}

/** One line per finding, `check: message (at location)`, for failure messages and the CLI. */
export function formatFinding(finding: ScanFinding): string {
  return `${finding.check}: ${finding.message}${finding.location ? ` (at ${finding.location})` : ''}`;
}
