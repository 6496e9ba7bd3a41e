/**
 * What a running DeployModel exposes about itself: the `status` query's shape and the markdown
 * shown as "current details" in the Temporal Web UI. Pure, so it is unit-tested without Temporal.
 */
import type { AnalysisEstimate } from '../activities/step-estimates.ts';
import type { SupplyChainReport } from '../activities/supply-chain.ts';
import type { Verdict } from '../analysis/judge.ts';
import { verdictMarkdown } from '../analysis/report.ts';
import { formatDuration } from '../specs/duration.ts';
import type { PolicyRuleResult } from '../supply-chain/policy/evaluate.ts';

/**
 * Stages, in order; also the `RolloutStage` search attribute. `serving`, `promoted`,
 * `rolled-back` and `rejected` end a run.
 */
export const PIPELINE_STAGES = [
  'resolving',
  'scanning',
  'validating',
  'packaging',
  'loading',
  'shadow',
  'canary',
  'paused',
  'analysis',
  'awaiting-approval',
  'promoting',
  'promoted',
  'rolling-back',
  'serving',
  'rolled-back',
  'rejected',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** One approval decision, as the audit log also has it. */
export interface ApprovalRecord {
  stepIndex: number;
  approver: string;
  decision: 'approve' | 'reject' | 'timeout' | 'refused';
  comment?: string;
  at: string;
}

export interface DeploymentStatus {
  model: string;
  environment: string;
  commit: string;
  stage: PipelineStage;
  history: { stage: PipelineStage; at: string }[];
  artifact?: { sha256: string; sizeBytes: number };
  validation?: { name: string; value: number; passed: boolean }[];
  scanFindings?: number;
  /** One line: who verifiably signed the model directory, or that it is unsigned. */
  signature?: string;
  /** The environment policy's verdicts, rule by rule. */
  policy?: PolicyRuleResult[];
  bundle?: { digest: string; path: string };
  dataPlane?: { version: string; stable: string | null };
  rollout?: {
    /** One short description per spec step, e.g. `setWeight 10%`. */
    steps: string[];
    /** The step running now (or next). */
    stepIndex: number;
    canaryWeight: number;
    shadow: boolean;
    /** Inconclusive watches of the current step so far. */
    extensions: number;
    /** How long each analysis step needs, estimated before traffic moved. */
    estimates?: AnalysisEstimate;
  };
  lastVerdict?: { stepIndex: number; verdict: Verdict };
  waitingFor?: { stepIndex: number; approvers: string[]; until: string; description?: string };
  approvals: ApprovalRecord[];
  rollback?: { reason: string; at: string };
  rejection?: { step: PipelineStage; type: string; message: string };
}

function formatMetric(name: string, value: number): string {
  if (name.startsWith('latency')) return `${value.toFixed(3)} ms`;
  return value.toFixed(4);
}

function rolloutLines(status: DeploymentStatus): string[] {
  const rollout = status.rollout;
  if (!rollout) return [];
  const steps = rollout.steps
    .map((step, index) => {
      const mark = index < rollout.stepIndex ? '✓' : index === rollout.stepIndex ? '▶' : '·';
      return `${mark} ${index + 1}. ${step}`;
    })
    .join('<br>');
  const candidate = status.dataPlane?.version ?? '?';
  const stable = status.dataPlane?.stable ?? 'none';
  return [
    '',
    `**Traffic:** stable \`${stable}\` ${100 - rollout.canaryWeight}% · candidate \`${candidate}\` ${rollout.canaryWeight}%${rollout.shadow ? ' · shadow on' : ''}`,
    `**Steps:**<br>${steps}`,
    ...(rollout.estimates
      ? ['', `**Step estimates:**<br>${estimateLines(rollout.estimates).join('<br>')}`]
      : []),
  ];
}

/**
 * One line per analysis step: `step 3 (analysis 5m at 10 %): a healthy candidate passes in ≈ 3.4m,
 * a ×2 error rate fails in ≈ 31.2m`, and a warning when the step is shorter than the pass needs.
 */
export function estimateLines(estimate: AnalysisEstimate): string[] {
  const { traffic } = estimate;
  const about = (ms: number | null) => (ms === null ? 'more than a week' : `≈ ${formatDuration(ms)}`);
  const basis =
    traffic.source === 'none'
      ? 'no traffic measured and no analysis.expectedTraffic in the spec'
      : `${traffic.requestsPerSecond.toFixed(1)} req/s, stable error rate ${(traffic.errorRate * 100).toFixed(2)} % (${traffic.source === 'spec' ? 'spec analysis.expectedTraffic' : `measured over ${traffic.observedSeconds ?? '?'} s`})`;
  return [
    `traffic: ${basis}`,
    ...estimate.steps.map((step) => {
      const head = `step ${step.stepIndex + 1} (analysis ${formatDuration(step.durationMs)} at ${step.candidateWeight} %)`;
      const fail =
        step.failMs === null ? '' : `, a ×${step.failEffect} error rate fails in ${about(step.failMs)}`;
      const warning = step.fits ? '' : ': likely inconclusive, the step is shorter than a pass needs';
      return `${head}: a healthy candidate passes in ${about(step.passMs)}${fail}${warning}`;
    }),
  ];
}

/** `verified: release, qa (3 files, root 1a2b3c4d5e6f…)` or `unsigned (no signature required)`. */
export function signatureLine(report: SupplyChainReport): string {
  const { signature } = report;
  if (signature.status === 'unsigned') return 'unsigned (no signature required)';
  const root = signature.rootDigest ? `, root ${signature.rootDigest.slice(0, 12)}…` : '';
  const files = `${signature.files.length} file${signature.files.length === 1 ? '' : 's'}`;
  return `verified: ${signature.verifiedKeys.join(', ')} (${files}${root})`;
}

/** Markdown for the Web UI's current details: stage first, then what is known so far. */
export function renderDetails(status: DeploymentStatus): string {
  const lines = [
    `**${status.model}** → \`${status.environment}\` at \`${status.commit.slice(0, 12)}\``,
    '',
    `**Stage:** ${status.stage}`,
  ];
  if (status.waitingFor) {
    lines.push(
      '',
      `**Waiting for approval** of step ${status.waitingFor.stepIndex + 1} by one of: ${status.waitingFor.approvers.join(', ')} (until ${status.waitingFor.until})`,
      `\`npx modelship approve ${status.model} --env ${status.environment} --as <name>\``,
    );
  }
  lines.push(...rolloutLines(status));
  if (status.lastVerdict) {
    const { stepIndex, verdict } = status.lastVerdict;
    lines.push(
      '',
      `**Last verdict** (step ${stepIndex + 1}): ${verdict.outcome}: ${verdict.reason}`,
      '',
      verdictMarkdown(verdict),
    );
  }
  if (status.rollback) lines.push('', `**Rolled back:** ${status.rollback.reason}`);
  if (status.artifact) {
    lines.push(
      '',
      `**Artifact:** sha256 \`${status.artifact.sha256.slice(0, 16)}…\` (${status.artifact.sizeBytes} bytes)`,
    );
  }
  if (status.validation && status.validation.length > 0) {
    lines.push('', '| metric | value | verdict |', '| --- | --- | --- |');
    for (const metric of status.validation) {
      lines.push(
        `| ${metric.name} | ${formatMetric(metric.name, metric.value)} | ${metric.passed ? 'pass' : 'FAIL'} |`,
      );
    }
  }
  if (status.signature) lines.push('', `**Signature:** ${status.signature}`);
  if (status.scanFindings !== undefined) lines.push('', `**Scan:** ${status.scanFindings} finding(s)`);
  if (status.policy && status.policy.length > 0) {
    lines.push('', '| policy rule | verdict | reason |', '| --- | --- | --- |');
    for (const result of status.policy) {
      lines.push(
        `| ${result.rule} | ${result.passed ? 'pass' : 'FAIL'} | ${result.reason.replace(/\|/g, '\\|')} |`,
      );
    }
  }
  if (status.bundle) lines.push(`**Bundle:** \`${status.bundle.digest.slice(0, 16)}…\``);
  if (status.dataPlane && !status.rollout) {
    lines.push(
      `**Data plane:** version \`${status.dataPlane.version}\`, stable \`${status.dataPlane.stable ?? 'none'}\``,
    );
  }
  if (status.rejection) {
    lines.push(
      '',
      `**Rejected at ${status.rejection.step}** (${status.rejection.type}): ${status.rejection.message}`,
    );
  }
  return lines.join('\n');
}
