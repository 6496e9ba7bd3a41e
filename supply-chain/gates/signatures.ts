/**
 * The signature gate: every `*.sig` of the model directory verified against the keys the
 * environment's policy trusts, and every key that must sign (the spec's `security.signedBy`, the
 * policy's `signatures.required`) with a valid signature of its own. A directory with no
 * signature passes only when no key is required.
 */
import { readdir } from 'node:fs/promises';
import { hasErrorCode } from '../../model/files.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import { isSignatureFileName, verifyModelSignatures } from '../signing/index.ts';
import type { LocalModel } from './model-files.ts';
import type { GateVerdict, SignatureSummary } from './report.ts';

type UsablePolicy = Extract<LoadedPolicy, { ok: true }>;

/** The keys that must sign: the spec's and the policy's, sorted, once each. */
export function requiredSigners(signedBy: readonly string[], policy: UsablePolicy): string[] {
  return [...new Set([...signedBy, ...policy.policy.signatures.required])].sort();
}

/** Verifies the model directory's signatures; `local.modelDir` null means a model fetched by URI (https://, oci://). */
export async function checkSignatures(
  local: LocalModel,
  source: string,
  policy: UsablePolicy,
  required: string[],
): Promise<{ summary: SignatureSummary; verdict: GateVerdict }> {
  const summary = await verify(local.modelDir, policy.keys, required);
  const untrusted = required.filter((name) => policy.keys[name] === undefined);
  if (untrusted.length > 0) {
    summary.status = 'failed';
    summary.findings.unshift({
      severity: 'error',
      message: `${untrusted.join(', ')} must sign, but ${policy.file} does not trust ${untrusted.length === 1 ? 'that key' : 'those keys'} (signatures.trustedKeys)`,
    });
  }
  return { summary, verdict: verdictOf(summary, local, source) };
}

function verdictOf(summary: SignatureSummary, local: LocalModel, source: string): GateVerdict {
  // Findings name the directory as the repository does, not where this process put it.
  const named = (text: string) =>
    local.modelDir === null ? text : text.replaceAll(local.modelDir, local.dirLabel || '.');
  if (summary.status === 'failed') {
    return {
      gate: 'signatures',
      status: 'failed',
      detail: `signature check failed for ${local.modelDir === null ? source : local.dirLabel || '.'}`,
      findings: summary.findings
        .filter((finding) => finding.severity === 'error')
        .map((finding) => named(`${finding.location ? `${finding.location}: ` : ''}${finding.message}`)),
    };
  }
  if (summary.status === 'unsigned') {
    return {
      gate: 'signatures',
      status: 'passed',
      detail:
        local.modelDir === null
          ? 'a model fetched by URI (https://, oci://): no directory to verify, and no signature is required'
          : 'the model directory is not signed (no signature is required)',
      findings: [],
    };
  }
  const files = `${summary.files.length} file${summary.files.length === 1 ? '' : 's'}`;
  return {
    gate: 'signatures',
    status: 'passed',
    detail: `verified: ${summary.verifiedKeys.join(', ') || 'no key'} (${files}${summary.rootDigest ? `, root ${summary.rootDigest.slice(0, 12)}…` : ''})`,
    findings: [],
  };
}

async function hasSignatureFiles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some(isSignatureFileName);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return false;
    throw error;
  }
}

async function verify(
  modelDir: string | null,
  keys: Record<string, string>,
  required: string[],
): Promise<SignatureSummary> {
  const empty = { modelDir, rootDigest: null, files: [], signatures: [], verifiedKeys: [], required };
  if (modelDir === null) {
    if (required.length === 0) return { ...empty, status: 'unsigned', findings: [] };
    return {
      ...empty,
      status: 'failed',
      findings: [
        {
          severity: 'error',
          message: `signatures by ${required.join(', ')} are required, but a model fetched by URI (https://, oci://) has no directory to verify: commit the model and its model.sig, or serve it from a file:// path`,
        },
      ],
    };
  }
  if (required.length === 0 && !(await hasSignatureFiles(modelDir))) {
    return {
      ...empty,
      status: 'unsigned',
      findings: [
        { severity: 'warning', message: 'the model directory is not signed (no signature is required)' },
      ],
    };
  }
  const report = await verifyModelSignatures({ modelDir, trustedKeys: keys, requiredKeys: required });
  return {
    required,
    verifiedKeys: report.verifiedKeys,
    modelDir: report.modelDir,
    rootDigest: report.rootDigest || null,
    files: report.files.map(({ path, sha256, sizeBytes }) => ({ path, sha256, sizeBytes })),
    signatures: report.signatures,
    status: report.passed ? 'verified' : 'failed',
    findings: report.findings,
  };
}
