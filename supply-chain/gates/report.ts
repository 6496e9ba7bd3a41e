/**
 * What the ship gates report: one verdict per gate, in a fixed order, each with its findings as
 * the one-line text every caller prints (`plan`'s comment, `modelship scan`, the workflow's
 * failure message), plus the data the activities hand on (scan report, signatures, policy
 * results, scan limits, four eyes). A leaf module: types and constants only.
 */
import { FailureType } from '../../domain/failure-types.ts';
import type { ScanLimits, ScanReport } from '../../model/scan.ts';
import type { PolicyRuleResult } from '../policy/evaluate.ts';
import type { PrivacyPolicy, ScanPolicy } from '../policy/schema.ts';
import type { SecretFinding } from '../secrets/index.ts';

/** The gates, in the order they are judged and listed. */
export const SHIP_GATES = ['digest', 'scan', 'secrets', 'signatures', 'policy'] as const;
export type ShipGateName = (typeof SHIP_GATES)[number];

/** The domain failure each gate refuses with, the same in the workflow and in `plan`'s words. */
export const GATE_FAILURE_TYPE = {
  digest: FailureType.DigestMismatch,
  scan: FailureType.ScanFailed,
  secrets: FailureType.SecretFound,
  signatures: FailureType.SignatureInvalid,
  policy: FailureType.PolicyViolation,
} as const satisfies Record<ShipGateName, FailureType>;

/** One gate's verdict. `skipped` says why the gate could not or need not run. */
export interface GateVerdict {
  gate: ShipGateName;
  status: 'passed' | 'failed' | 'skipped';
  /** One line for people. */
  detail: string;
  /** Each error as one line, formatted the same for every caller; empty unless failed. */
  findings: string[];
}

/** What the signature gate verified (kept in the bundle manifest and the status). */
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

/** Everything the gates found; a gate not asked for is `skipped` ("not evaluated here"). */
export interface GateReport {
  /** True when no gate failed. */
  passed: boolean;
  /** One verdict per gate, in `SHIP_GATES` order. */
  gates: GateVerdict[];
  /** The policy judged: its file, where it came from and every rule's verdict. */
  policy: { file: string; origin: 'file' | 'default'; results: PolicyRuleResult[] };
  /** The policy's four-eyes rule: the commit's author may not approve its rollout. */
  fourEyes: boolean;
  /** The policy's scan block as written (absent fields keep the defaults). */
  scanPolicy: ScanPolicy;
  /** The policy's privacy block: whether validation refuses a holdout holding personal data. */
  privacyPolicy: PrivacyPolicy;
  /** The limits the scan used: defaults, the worker's, then the policy's. */
  scanLimits: ScanLimits;
  /** Null when the scan gate did not run. */
  scan: ScanReport | null;
  /** Null when the signature gate did not run. */
  signature: SignatureSummary | null;
  secrets: SecretFinding[];
}

/** The verdict of `gate` in `report`. */
export function gateVerdict(report: GateReport, gate: ShipGateName): GateVerdict {
  const verdict = report.gates.find((candidate) => candidate.gate === gate);
  if (verdict === undefined) throw new Error(`no verdict for gate ${gate}`);
  return verdict;
}

/** The failed gates, in order. */
export function failedGates(report: GateReport): GateVerdict[] {
  return report.gates.filter((verdict) => verdict.status === 'failed');
}
