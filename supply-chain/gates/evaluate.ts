/**
 * `evaluateShipGates`: whether a model may ship to an environment, decided once for every caller.
 * The workflow's activities (`verifySupplyChain`, `scanModel`), `modelship plan` and
 * `modelship scan` all call it, so a model `plan` passes is a model the workflow takes.
 *
 * | gate       | refuses when                                                         | needs            |
 * | ---------- | -------------------------------------------------------------------- | ---------------- |
 * | digest     | the model's bytes are not the pinned sha256                          | the model bytes  |
 * | scan       | the structure scan finds an error, under the policy's `scan:` limits | the model bytes  |
 * | secrets    | a secret is in the spec, the model's texts or a text file beside it  | spec, model, dir |
 * | signatures | a signature is invalid or untrusted, or a key that must sign did not | the directory    |
 * | policy     | a rule of the policy fails on the declared spec and verified signers | the spec         |
 *
 * A broken policy file fails the policy gate and skips the gates that read it (scan limits,
 * trusted keys). A model over the size limit fails the scan gate and is never read, so the gates
 * that need its bytes are skipped: the size is asked of the files port first.
 */
import type { OnProgress } from '../../model/files.ts';
import { SCAN_CHECKS } from '../../model/findings.ts';
import {
  DEFAULT_SCAN_LIMITS,
  formatFinding,
  type ScanLimits,
  type ScanReport,
  scanModelFile,
} from '../../model/scan.ts';
import type { ModelDeployment } from '../../specs/schema.ts';
import { evaluatePolicy, type PolicyFacts, type PolicyRuleResult, policyPassed } from '../policy/evaluate.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import type { ScanPolicy } from '../policy/schema.ts';
import type { SecretFinding } from '../secrets/index.ts';
import type { ModelFiles } from './model-files.ts';
import type { GateReport, GateVerdict, ShipGateName, SignatureSummary } from './report.ts';
import { SHIP_GATES } from './report.ts';
import { checkSecrets } from './secrets.ts';
import { checkSignatures, requiredSigners } from './signatures.ts';

export type { LocalModel, ModelFiles } from './model-files.ts';
export { localModelFiles } from './model-files.ts';
export * from './report.ts';

export interface ShipGateInput {
  /** The spec as parsed, its text as committed and its repository path; absent for `modelship scan`. */
  spec?: { spec: ModelDeployment; text: string; path: string };
  /** The environment's policy as loaded: its file, the default policy without one, or its errors. */
  policy: LoadedPolicy;
  /**
   * Where the model and its directory are read; null when they cannot be read here (`plan` and
   * a model outside the repository: the worker checks it), so only the spec is judged.
   */
  files: ModelFiles | null;
  /** The model source as the spec names it, for messages and finding locations. */
  source: string;
  /** The sha256 the model must have; without it the digest gate is skipped. */
  expectedSha256?: string;
  /** Limits under the policy's (the worker's configuration, command-line options). */
  baseLimits?: Partial<ScanLimits>;
  /** The commit's author, for the four-eyes rule. */
  commitAuthor?: PolicyFacts['commitAuthor'];
  /** The gates to judge, default all; the others are reported skipped. */
  gates?: readonly ShipGateName[];
  /** Called as the scan reads and decodes (an activity heartbeats on it). */
  onProgress?: OnProgress;
}

/** The scan's limits: the defaults, then `base`, then what the policy sets. */
export function shipGateLimits(policy: ScanPolicy, base: Partial<ScanLimits> = {}): ScanLimits {
  const set = Object.fromEntries(Object.entries(policy).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_SCAN_LIMITS, ...base, ...set };
}

/** Judges every requested gate; never throws for what it finds, only for files it cannot read. */
export async function evaluateShipGates(input: ShipGateInput): Promise<GateReport> {
  const wanted = new Set<ShipGateName>(input.gates ?? SHIP_GATES);
  const verdicts = new Map<ShipGateName, GateVerdict>();
  const set = (verdict: GateVerdict) => {
    if (wanted.has(verdict.gate)) verdicts.set(verdict.gate, verdict);
  };
  const skip = (gate: ShipGateName, detail: string) => set({ gate, status: 'skipped', detail, findings: [] });
  const { policy, spec } = input;
  const scanPolicy = policy.ok ? policy.policy.scan : {};
  const limits = shipGateLimits(scanPolicy, input.baseLimits);

  let scan: ScanReport | null = null;
  let signature: SignatureSummary | null = null;
  let secrets: SecretFinding[] = [];
  if (!policy.ok) {
    const why = `${policy.file} cannot be used`;
    for (const gate of ['scan', 'signatures'] as const) skip(gate, `not checked: ${why}`);
  }
  const specOnly = spec ? { spec: { path: spec.path, text: spec.text } } : {};
  const { files } = input;
  const needsModel =
    files !== null &&
    ['digest', 'scan', 'secrets', 'signatures'].some((gate) => wanted.has(gate as ShipGateName));
  if (files === null) {
    const why = `not checked here: the worker reads ${input.source} and checks it`;
    for (const gate of ['digest', 'scan', 'signatures'] as const) skip(gate, why);
  }
  const size = needsModel ? await files.modelSize() : 0;
  if (needsModel && size > limits.maxBytes) {
    // Never read: its bytes, texts and signatures wait until it fits the limit.
    const finding = `size: the model file is ${size} bytes, over the ${limits.maxBytes}-byte limit`;
    skip('digest', `not checked: ${input.source} is over the scan's size limit`);
    // Reported whichever gates were asked: it is why the others could not run.
    verdicts.set('scan', {
      gate: 'scan',
      status: 'failed',
      detail: '1 error in the model file',
      findings: [finding],
    });
    if (policy.ok) skip('signatures', `not checked: ${input.source} is over the scan's size limit`);
    scan = oversizedReport(finding.slice('size: '.length), size);
    if (wanted.has('secrets')) ({ findings: secrets } = await record(set, checkSecrets(specOnly)));
  } else if (needsModel) {
    const local = await files.open();
    try {
      if (wanted.has('digest') || (policy.ok && wanted.has('scan'))) {
        scan = await scanModelFile(local.modelFile, {
          ...limits,
          ...(local.modelDir === null ? {} : { modelDir: local.modelDir }),
          ...(input.expectedSha256 === undefined ? {} : { expectedSha256: input.expectedSha256 }),
          ...(input.onProgress ? { onProgress: input.onProgress } : {}),
        });
        set(digestVerdict(scan, input));
        if (policy.ok) set(scanVerdict(scan));
      }
      if (wanted.has('secrets')) {
        const sources = { ...specOnly, model: { local, source: input.source } };
        ({ findings: secrets } = await record(set, checkSecrets(sources)));
      }
      if (policy.ok && wanted.has('signatures')) {
        const required = requiredSigners(spec?.spec.spec.security.signedBy ?? [], policy);
        const checked = await checkSignatures(local, input.source, policy, required);
        signature = checked.summary;
        set(checked.verdict);
      }
    } finally {
      await local.release();
    }
  } else if (wanted.has('secrets')) {
    ({ findings: secrets } = await record(set, checkSecrets(specOnly)));
  }

  const results = judgePolicy(input, signature, set);
  const gates = SHIP_GATES.map(
    (gate): GateVerdict =>
      verdicts.get(gate) ?? { gate, status: 'skipped', detail: 'not judged here', findings: [] },
  );
  return {
    passed: gates.every((verdict) => verdict.status !== 'failed'),
    gates,
    policy: { file: policy.file, origin: policy.ok ? policy.origin : 'file', results },
    fourEyes: policy.ok ? policy.policy.rollout.fourEyes : false,
    scanPolicy,
    // A policy that cannot be read allows nothing: the gate refuses personal data.
    privacyPolicy: policy.ok ? policy.policy.privacy : { holdout: 'refuse' },
    scanLimits: limits,
    scan,
    signature,
    secrets,
  };
}

async function record<T extends { verdict: GateVerdict }>(
  set: (verdict: GateVerdict) => void,
  pending: Promise<T>,
): Promise<T> {
  const result = await pending;
  set(result.verdict);
  return result;
}

/** The policy gate: the rules on the declared spec and the verified signers, or the file's errors. */
function judgePolicy(
  input: ShipGateInput,
  signature: SignatureSummary | null,
  set: (verdict: GateVerdict) => void,
): PolicyRuleResult[] {
  const { policy, spec } = input;
  if (!policy.ok) {
    set({
      gate: 'policy',
      status: 'failed',
      detail: `the policy of ${policy.file.replace(/^.*\/|\.yaml$/g, '')} cannot be used`,
      findings: policy.errors.map((error) => `${error.file}:${error.line}:${error.column}  ${error.message}`),
    });
    return [];
  }
  if (spec === undefined) {
    set({ gate: 'policy', status: 'skipped', detail: 'no spec to judge', findings: [] });
    return [];
  }
  const results = evaluatePolicy(spec.spec, policy.policy, {
    ...(signature ? { signedBy: signature.verifiedKeys } : {}),
    ...(input.commitAuthor ? { commitAuthor: input.commitAuthor } : {}),
  });
  const failed = results.filter((result) => !result.passed);
  const origin = policy.origin === 'default' ? `the default policy (no ${policy.file})` : policy.file;
  set(
    policyPassed(results)
      ? {
          gate: 'policy',
          status: 'passed',
          detail:
            results.length === 0
              ? `no rule of ${origin} applies`
              : `${count(results.length, 'rule')} of ${origin} passed`,
          findings: [],
        }
      : {
          gate: 'policy',
          status: 'failed',
          detail: `${count(failed.length, 'rule')} of ${policy.file} failed`,
          findings: failed.map((result) => `${result.rule}: ${result.reason}`),
        },
  );
  return results;
}

function digestVerdict(scan: ScanReport, input: ShipGateInput): GateVerdict {
  const expected = input.expectedSha256?.toLowerCase();
  if (expected === undefined) {
    return { gate: 'digest', status: 'skipped', detail: 'no pinned sha256 given', findings: [] };
  }
  if (scan.sha256 === expected) {
    return {
      gate: 'digest',
      status: 'passed',
      detail: `${input.source} matches the pinned sha256 ${expected.slice(0, 12)}…`,
      findings: [],
    };
  }
  const line = `${input.source}: the spec pins sha256 ${expected}, the bytes have sha256 ${scan.sha256}`;
  return { gate: 'digest', status: 'failed', detail: line, findings: [line] };
}

/** The scan gate; a digest finding is the digest gate's, not counted here. */
function scanVerdict(scan: ScanReport): GateVerdict {
  const errors = scan.findings.filter(
    (finding) => finding.severity === 'error' && finding.check !== 'digest',
  );
  if (errors.length > 0) {
    return {
      gate: 'scan',
      status: 'failed',
      detail: `${count(errors.length, 'error')} in the model file`,
      findings: errors.map(formatFinding),
    };
  }
  const model = scan.model;
  const about = model
    ? ` (${model.producer || 'unknown producer'}, ir ${model.irVersion}, ${model.nodeCount} nodes)`
    : '';
  const passed = scan.checks.filter((check) => check.name !== 'digest').map((check) => check.name);
  return { gate: 'scan', status: 'passed', detail: `${passed.join(', ')}${about}`, findings: [] };
}

/** The report of a model refused for its size before it was read (as `scanModelFile` makes it). */
function oversizedReport(message: string, size: number): ScanReport {
  return {
    passed: false,
    findings: [{ check: 'size', severity: 'error', message }],
    checks: SCAN_CHECKS.map((name) =>
      name === 'size'
        ? { name, passed: false }
        : { name, passed: false, detail: 'not run: the file is over the size limit' },
    ),
    model: null,
    sha256: null,
    sizeBytes: size,
  };
}

function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}
