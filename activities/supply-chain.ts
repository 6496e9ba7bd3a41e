/**
 * The supply-chain gates of DeployModel, around validation:
 *
 * - `verifySupplyChain` (scan stage, before onnxruntime ever loads the model): the environment's
 *   policy is read, the model directory's signatures are verified against the keys the policy
 *   trusts, the spec, the model's doc_strings and metadata and every text file of the model
 *   directory are scanned for secrets, and the policy's rules are judged on what the spec
 *   declares and who verifiably signed (what `plan` showed before merge).
 * - `checkPolicy` (after validation): the policy's rules judged on the spec and on the facts now
 *   known: which keys verifiably signed, what validation measured, who authored the commit.
 *
 * Each refuses with a domain failure whose message lists every finding (secrets masked), so the
 * rejection in the Web UI, `modelship status` and the audit log says exactly why.
 *
 * The policy and its keys are read from the repository checkout the deployment names (like the
 * model files): `policies/<environment>.yaml`, the same file `plan` judged at the head commit.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeploymentRef } from '../domain/deployment.ts';
import { hasErrorCode } from '../model/files.ts';
import { modelTexts } from '../model/texts.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { evaluatePolicy, type PolicyRuleResult, policyPassed } from '../supply-chain/policy/evaluate.ts';
import { type LoadedPolicy, loadPolicy } from '../supply-chain/policy/load.ts';
import type { ScanPolicy } from '../supply-chain/policy/schema.ts';
import {
  formatSecretFinding,
  type SecretFinding,
  scanDirectoryForSecrets,
  scanModelTexts,
  scanTextsForSecrets,
  secretScannerVersions,
} from '../supply-chain/secrets/index.ts';
import { isSignatureFileName, verifyModelSignatures } from '../supply-chain/signing/index.ts';
import type { ResolvedArtifact } from './artifact.ts';
import { domainFailure, FailureType } from './failures.ts';
import type { ValidationReport } from '../model/validation-report.ts';

export interface SupplyChainInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  spec: ModelDeployment;
  /** The spec file's text exactly as committed. */
  specText: string;
}

export interface SignatureSummary {
  /** Keys that had to sign: the spec's `security.signedBy` and the policy's `signatures.required`. */
  required: string[];
  /** Keys whose signature verified over every file of the model directory. */
  verifiedKeys: string[];
  /** The model directory checked; null for an https:// model (no directory to check). */
  modelDir: string | null;
  rootDigest: string | null;
  files: { path: string; sha256: string; sizeBytes: number }[];
  signatures: {
    path: string;
    keyName: string | null;
    keyId: string | null;
    valid: boolean;
    reason: string;
  }[];
  /** `unsigned` when there is no signature and none is required. */
  status: 'verified' | 'unsigned' | 'failed';
  findings: { severity: 'error' | 'warning'; message: string; location?: string }[];
}

export interface SupplyChainReport {
  policy: { file: string; origin: 'file' | 'default'; results: PolicyRuleResult[] };
  /** The model's directory in the checkout (null for an https:// model). */
  modelDir: string | null;
  /** The policy's four-eyes rule: the commit's author may not approve its rollout. */
  fourEyes: boolean;
  signature: SignatureSummary;
  secrets: { findings: SecretFinding[] };
  /** Scanner rule-set versions, for the evidence manifest. */
  scanners: Record<string, string>;
  /** The policy's scan limits, passed on to whoever needs them. */
  scanLimits: ScanPolicy;
}

export interface CheckPolicyInput {
  deployment: DeploymentRef;
  spec: ModelDeployment;
  supplyChain: SupplyChainReport;
  validation: ValidationReport;
}

export interface PolicyReport {
  file: string;
  origin: 'file' | 'default';
  passed: boolean;
  results: PolicyRuleResult[];
}

/** The model directory of a local source; null for a source that is not a local file. */
export function modelDirectory(deployment: DeploymentRef, source: string): string | null {
  if (/^https?:/i.test(source)) return null;
  if (/^file:/i.test(source)) return dirname(fileURLToPath(source));
  return dirname(isAbsolute(source) ? source : join(deployment.repoRoot, source));
}

async function readPolicy(deployment: DeploymentRef): Promise<Extract<LoadedPolicy, { ok: true }>> {
  const loaded = await loadPolicy(
    {
      readFile: async (path) => {
        try {
          return await readFile(join(deployment.repoRoot, path), 'utf8');
        } catch (error) {
          if (hasErrorCode(error, 'ENOENT')) return undefined;
          throw error;
        }
      },
    },
    deployment.environment,
  );
  if (!loaded.ok) {
    const errors = loaded.errors.map(
      (error) => `${error.file}:${error.line}:${error.column}  ${error.message}`,
    );
    throw domainFailure(
      FailureType.PolicyViolation,
      `the policy of ${deployment.environment} cannot be used:\n${errors.join('\n')}`,
    );
  }
  return loaded;
}

async function hasSignatureFiles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some(isSignatureFileName);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return false;
    throw error;
  }
}

async function verifySignatures(
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
          message: `signatures by ${required.join(', ')} are required, but an https:// model has no directory to verify: commit the model and its model.sig, or serve it from a file:// path`,
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

async function scanSecrets(input: SupplyChainInput, modelDir: string | null): Promise<SecretFinding[]> {
  const findings = await scanTextsForSecrets([{ path: input.deployment.specPath, text: input.specText }]);
  const bytes = await readFile(input.artifact.path);
  findings.push(...(await scanModelTexts(modelTexts(bytes, input.artifact.source))));
  if (modelDir !== null) {
    // Paths relative to the repository, so a finding names the file a person would open.
    const prefix = modelDir.startsWith(input.deployment.repoRoot)
      ? modelDir.slice(input.deployment.repoRoot.length).replace(/^\/+/, '')
      : modelDir;
    for (const finding of await scanDirectoryForSecrets(modelDir).catch((error: unknown) => {
      if (hasErrorCode(error, 'ENOENT')) return [];
      throw error;
    })) {
      findings.push({ ...finding, path: prefix ? `${prefix}/${finding.path}` : finding.path });
    }
  }
  return findings;
}

function policyFailure(file: string, results: readonly PolicyRuleResult[], details: unknown) {
  const failed = results.filter((result) => !result.passed);
  return domainFailure(
    FailureType.PolicyViolation,
    `${failed.length} rule${failed.length === 1 ? '' : 's'} of ${file} failed:\n${failed.map((result) => `${result.rule}: ${result.reason}`).join('\n')}`,
    details,
  );
}

export function createSupplyChainActivities() {
  return {
    async verifySupplyChain(input: SupplyChainInput): Promise<SupplyChainReport> {
      const { deployment, spec } = input;
      const policy = await readPolicy(deployment);
      const required = [
        ...new Set([...spec.spec.security.signedBy, ...policy.policy.signatures.required]),
      ].sort();
      const modelDir = modelDirectory(deployment, spec.spec.model.source);
      const untrusted = required.filter((name) => policy.keys[name] === undefined);
      const signature = await verifySignatures(modelDir, policy.keys, required);
      if (untrusted.length > 0) {
        signature.status = 'failed';
        signature.findings.unshift({
          severity: 'error',
          message: `${untrusted.join(', ')} must sign, but ${policy.file} does not trust ${untrusted.length === 1 ? 'that key' : 'those keys'} (signatures.trustedKeys)`,
        });
      }
      const secrets = await scanSecrets(input, modelDir);
      const results = evaluatePolicy(spec, policy.policy, {
        signedBy: signature.verifiedKeys,
        ...(deployment.author ? { commitAuthor: deployment.author } : {}),
      });
      const report: SupplyChainReport = {
        policy: { file: policy.file, origin: policy.origin, results },
        modelDir,
        fourEyes: policy.policy.rollout.fourEyes,
        signature,
        secrets: { findings: secrets },
        scanners: { ...secretScannerVersions() },
        scanLimits: policy.policy.scan,
      };
      if (signature.status === 'failed') {
        const lines = signature.findings
          .filter((finding) => finding.severity === 'error')
          .map((finding) => `${finding.location ? `${finding.location}: ` : ''}${finding.message}`);
        throw domainFailure(
          FailureType.SignatureInvalid,
          `signature check failed for ${modelDir ?? spec.spec.model.source}:\n${lines.join('\n')}`,
          { report },
        );
      }
      if (secrets.length > 0) {
        throw domainFailure(
          FailureType.SecretFound,
          `${secrets.length} secret${secrets.length === 1 ? '' : 's'} found (shown masked):\n${secrets.map(formatSecretFinding).join('\n')}`,
          { report },
        );
      }
      if (!policyPassed(results)) throw policyFailure(policy.file, results, { report });
      return report;
    },

    async checkPolicy(input: CheckPolicyInput): Promise<PolicyReport> {
      const policy = await readPolicy(input.deployment);
      const measured = Object.fromEntries(
        input.validation.metrics.map((metric) => [metric.name, metric.value]),
      );
      const results = evaluatePolicy(input.spec, policy.policy, {
        signedBy: input.supplyChain.signature.verifiedKeys,
        validation: {
          ...(measured.accuracy !== undefined ? { accuracy: measured.accuracy } : {}),
          ...(measured.f1Macro !== undefined ? { f1Macro: measured.f1Macro } : {}),
          ...(measured.latencyP50 !== undefined ? { latencyP50Ms: measured.latencyP50 } : {}),
          ...(measured.latencyP99 !== undefined ? { latencyP99Ms: measured.latencyP99 } : {}),
        },
        ...(input.deployment.author ? { commitAuthor: input.deployment.author } : {}),
      });
      const report: PolicyReport = {
        file: policy.file,
        origin: policy.origin,
        passed: policyPassed(results),
        results,
      };
      if (!report.passed) throw policyFailure(policy.file, results, { report });
      return report;
    },
  };
}
