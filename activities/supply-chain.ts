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
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeploymentRef } from '../domain/deployment.ts';
import { hasErrorCode } from '../model/files.ts';
import type { ScanLimits, ScanReport } from '../model/scan.ts';
import type { ValidationReport } from '../model/validation-report.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import {
  evaluateShipGates,
  GATE_FAILURE_TYPE,
  type GateReport,
  type GateVerdict,
  gateVerdict,
  localModelFiles,
  type ShipGateInput,
  type ShipGateName,
  type SignatureSummary,
} from '../supply-chain/gates/evaluate.ts';
import { evaluatePolicy, type PolicyRuleResult, policyPassed } from '../supply-chain/policy/evaluate.ts';
import { type LoadedPolicy, loadPolicy } from '../supply-chain/policy/load.ts';
import type { HoldoutPrivacy, ScanPolicy } from '../supply-chain/policy/schema.ts';
import { type SecretFinding, secretScannerVersions } from '../supply-chain/secrets/index.ts';
import type { ArtifactStore, ResolvedArtifact } from './artifact.ts';
import { domainFailure, FailureType } from './failures.ts';
import { heartbeat } from './heartbeat.ts';
import { scanFailure } from './scan.ts';
import type { SourceTrees } from './source-tree.ts';

export type { SignatureSummary };

export interface SupplyChainInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  spec: ModelDeployment;
  /** The spec file's text exactly as committed. */
  specText: string;
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
  /**
   * The policy's `privacy.holdout`, passed on to validation, which scans the holdout; absent in
   * reports of runs from before the privacy gate (validation then refuses, the default).
   */
  holdoutPrivacy?: HoldoutPrivacy;
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

/**
 * The model directory of a local source in the commit's `tree`; null for a source that is not a
 * local file (https, oci).
 */
export function modelDirectory(tree: string, source: string): string | null {
  if (/^(https?|oci):/i.test(source)) return null;
  if (/^file:/i.test(source)) return dirname(fileURLToPath(source));
  return dirname(isAbsolute(source) ? source : join(tree, source));
}

/** `policies/<environment>.yaml` and its key files, read from the tree of the deployment's commit. */
function loadCheckoutPolicy(tree: string, environment: string): Promise<LoadedPolicy> {
  return loadPolicy(
    {
      readFile: async (path) => {
        try {
          return await readFile(join(tree, path), 'utf8');
        } catch (error) {
          if (hasErrorCode(error, 'ENOENT')) return undefined;
          throw error;
        }
      },
    },
    environment,
  );
}

/** The deployment's environment policy from its commit's tree; a broken policy is a domain failure. */
export async function readPolicy(
  trees: SourceTrees,
  deployment: DeploymentRef,
): Promise<Extract<LoadedPolicy, { ok: true }>> {
  const loaded = await loadCheckoutPolicy(await trees.treeOf(deployment), deployment.environment);
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

function policyFailure(file: string, results: readonly PolicyRuleResult[], details: unknown) {
  const failed = results.filter((result) => !result.passed);
  return domainFailure(
    FailureType.PolicyViolation,
    `${failed.length} rule${failed.length === 1 ? '' : 's'} of ${file} failed:\n${failed.map((result) => `${result.rule}: ${result.reason}`).join('\n')}`,
    details,
  );
}

/**
 * The gates as the worker runs them: the policy and keys from the checkout, the model file from
 * the artifact store (its digest verified when it was stored), its directory from the checkout.
 */
async function workerGates(
  deps: SupplyChainDeps,
  input: SupplyChainInput,
  gates: readonly ShipGateName[],
): Promise<{ report: GateReport; modelDir: string | null }> {
  const { deployment, spec, artifact } = input;
  const tree = await deps.trees.treeOf(deployment);
  const modelDir = modelDirectory(tree, spec.spec.model.source);
  const gateInput: ShipGateInput = {
    spec: { spec, text: input.specText, path: deployment.specPath },
    policy: await loadCheckoutPolicy(tree, deployment.environment),
    files: localModelFiles({
      modelFile: await deps.artifacts.localCopy(deployment, artifact),
      modelDir,
      // Findings name files as a person finds them in the repository.
      ...(modelDir === null ? {} : { dirLabel: repositoryPath(tree, modelDir) }),
    }),
    source: artifact.source,
    expectedSha256: artifact.sha256,
    baseLimits: deps.limits ?? {},
    ...(deployment.author ? { commitAuthor: deployment.author } : {}),
    gates,
    onProgress: heartbeat,
  };
  return { report: await evaluateShipGates(gateInput), modelDir };
}

function repositoryPath(repoRoot: string, dir: string): string {
  const path = relative(repoRoot, dir).split('\\').join('/');
  return path.startsWith('..') || isAbsolute(path) ? dir : path;
}

/**
 * The first failed gate of `order` as its domain failure; a policy file that cannot be used
 * comes first (nothing else was judged by it), as does a model over the size limit (never read).
 */
export function gateFailure(
  report: GateReport,
  order: readonly ShipGateName[],
  artifact: Pick<ResolvedArtifact, 'source' | 'sha256'>,
  details: unknown,
) {
  const policy = gateVerdict(report, 'policy');
  const preempting: GateVerdict[] =
    report.policy.results.length === 0 && policy.status === 'failed' ? [policy] : [];
  if (report.scan && report.scan.model === null && report.scan.sha256 === null) {
    preempting.push(gateVerdict(report, 'scan'));
  }
  const failed = [...preempting, ...order.map((gate) => gateVerdict(report, gate))].find(
    (verdict) => verdict.status === 'failed',
  );
  if (failed === undefined) return undefined;
  if (failed.gate === 'scan' && report.scan) return scanFailure(artifact, report.scan);
  return domainFailure(
    GATE_FAILURE_TYPE[failed.gate],
    failed.findings.length > 0 ? `${failed.detail}:\n${failed.findings.join('\n')}` : failed.detail,
    details,
  );
}

function supplyChainReport(report: GateReport, modelDir: string | null, signature: SignatureSummary) {
  return {
    policy: report.policy,
    modelDir,
    fourEyes: report.fourEyes,
    signature,
    secrets: { findings: report.secrets },
    scanners: { ...secretScannerVersions() },
    scanLimits: report.scanPolicy,
    holdoutPrivacy: report.privacyPolicy.holdout,
  } satisfies SupplyChainReport;
}

/** The signature summary of a model whose signatures were not checked (too large, or no policy). */
function uncheckedSignatures(modelDir: string | null): SignatureSummary {
  return {
    required: [],
    verifiedKeys: [],
    modelDir,
    rootDigest: null,
    files: [],
    signatures: [],
    status: 'failed',
    findings: [{ severity: 'error', message: 'not checked' }],
  };
}

/** What `checkShipGates` returns: what `verifySupplyChain` and `scanModel` return, from one evaluation. */
export interface ShipGatesResult {
  supplyChain: SupplyChainReport;
  scan: ScanReport;
}

export interface SupplyChainDeps {
  /** The trees of deployments' commits: policies, key files, the model's directory. */
  trees: SourceTrees;
  /** This worker's model files. */
  artifacts: ArtifactStore;
  /** Scan limits under the policy's own. */
  limits?: Partial<ScanLimits>;
}

export function createSupplyChainActivities(deps: SupplyChainDeps) {
  return {
    /**
     * The gates before the structure scan: signatures, secrets, the policy's rules on the
     * declared spec. A model over the policy's size limit is refused here (ScanFailed) unread.
     */
    async verifySupplyChain(input: SupplyChainInput): Promise<SupplyChainReport> {
      const { report, modelDir } = await workerGates(deps, input, ['secrets', 'signatures', 'policy']);
      const signature = report.signature ?? uncheckedSignatures(modelDir);
      const supplyChain = supplyChainReport(report, modelDir, signature);
      const failure = gateFailure(report, ['signatures', 'secrets', 'policy'], input.artifact, {
        report: supplyChain,
      });
      if (failure) throw failure;
      return supplyChain;
    },

    /**
     * Every gate at once (digest, scan with the policy's limits, secrets, signatures, policy):
     * the same evaluation `plan` runs at the head commit. Refuses with the first failed gate, in
     * the order the two older activities did: signatures, secrets, policy, digest, scan.
     */
    async checkShipGates(input: SupplyChainInput): Promise<ShipGatesResult> {
      const { report, modelDir } = await workerGates(deps, input, [
        'digest',
        'scan',
        'secrets',
        'signatures',
        'policy',
      ]);
      const signature = report.signature ?? uncheckedSignatures(modelDir);
      const supplyChain = supplyChainReport(report, modelDir, signature);
      const failure = gateFailure(
        report,
        ['signatures', 'secrets', 'policy', 'digest', 'scan'],
        input.artifact,
        { report: supplyChain },
      );
      if (failure) throw failure;
      if (report.scan === null) throw new Error('the scan gate did not run');
      return { supplyChain, scan: report.scan };
    },

    async checkPolicy(input: CheckPolicyInput): Promise<PolicyReport> {
      const policy = await readPolicy(deps.trees, input.deployment);
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
