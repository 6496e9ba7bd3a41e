/**
 * The checks of the DeployModel pipeline that need neither Temporal nor onnxruntime, run on the
 * model file as committed at head: the pinned digest against the blob's bytes, and the scan
 * step's structure checks. A pull request learns here what the worker would refuse after merge.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../model/files.ts';
import { DEFAULT_SCAN_LIMITS, formatFinding, scanModelFile } from '../model/scan.ts';
import { normalizeRepoPath } from '../specs/locations.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import type { CommitReader } from './git.ts';

/** One offline check's outcome; `skipped` says why it could not run (e.g. an https:// model). */
export interface OfflineCheck {
  name: 'digest' | 'scan';
  status: 'passed' | 'failed' | 'skipped';
  /** One line for people. */
  detail: string;
  /** Scan error findings, one line each (`check: message (at location)`). */
  findings?: string[];
}

/** Runs the digest and scan checks on the model `spec` points at, read from `head`. */
export async function runOfflineChecks(
  reader: CommitReader,
  head: string,
  spec: ModelDeployment,
): Promise<OfflineCheck[]> {
  const { sha256: pinned } = spec.spec.model;
  // `./models/x.onnx` would be read relative to the current directory by `git show`.
  const source = normalizeRepoPath(spec.spec.model.source) ?? spec.spec.model.source;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const why =
      scheme === 'https'
        ? 'https:// model: the worker downloads it and verifies the pinned digest'
        : `${scheme}:// model: outside the repository, the worker reads and verifies it`;
    return [
      { name: 'digest', status: 'skipped', detail: why },
      { name: 'scan', status: 'skipped', detail: why },
    ];
  }

  // The spec rules already found the path in head's tree. The size is asked first so that a
  // model over the scan's limit is refused without being read into memory.
  const size = await reader.size(head, source);
  const { maxBytes } = DEFAULT_SCAN_LIMITS;
  if (size > maxBytes) {
    return [
      { name: 'digest', status: 'skipped', detail: `${source} is too large to check offline` },
      {
        name: 'scan',
        status: 'failed',
        detail: '1 error in the model file',
        findings: [`size: the model file is ${size} bytes, over the ${maxBytes}-byte limit`],
      },
    ];
  }
  const bytes = await reader.readBytes(head, source);
  const actual = sha256Hex(bytes);
  const digest: OfflineCheck =
    actual === pinned
      ? { name: 'digest', status: 'passed', detail: `${source} matches the pinned sha256 ${short(pinned)}` }
      : {
          name: 'digest',
          status: 'failed',
          detail: `${source} at ${head.slice(0, 12)} has sha256 ${actual}, the spec pins ${pinned}`,
        };
  return [digest, await scanBytes(bytes)];
}

/**
 * Scans the bytes from a private temporary directory: `scanModelFile` reads files, and the
 * working tree may hold other bytes than the commit. External-data files are not extracted with
 * the model, so only their paths are checked here; the worker checks the rest.
 */
async function scanBytes(bytes: Uint8Array): Promise<OfflineCheck> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-plan-'));
  try {
    const file = join(dir, 'model.onnx');
    await writeFile(file, bytes);
    // No expected digest: the digest check above reports it, with the spec's words.
    const report = await scanModelFile(file);
    const errors = report.findings.filter((finding) => finding.severity === 'error');
    if (errors.length > 0) {
      return {
        name: 'scan',
        status: 'failed',
        detail: `${errors.length} ${errors.length === 1 ? 'error' : 'errors'} in the model file`,
        findings: errors.map(formatFinding),
      };
    }
    const model = report.model;
    const about = model
      ? ` (${model.producer || 'unknown producer'}, ir ${model.irVersion}, ${model.nodeCount} nodes)`
      : '';
    const passed = report.checks.filter((check) => check.name !== 'digest').map((check) => check.name);
    return { name: 'scan', status: 'passed', detail: `${passed.join(', ')}${about}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function short(sha256: string): string {
  return `${sha256.slice(0, 12)}…`;
}
