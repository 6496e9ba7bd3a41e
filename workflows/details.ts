/**
 * The markdown DeployModel shows as "current details" in the Temporal Web UI, derived from the
 * run's state (`deployment-state.ts`) by pure functions, so it is unit-tested without Temporal.
 *
 * Written for the Web UI 2.5x renderer: no pipe tables (it runs their columns together), one
 * line per fact joined with a bare `<br>` (the renderer also keeps newlines, so `<br>` plus a
 * newline shows as a blank line); plain words before statistics; versions named by the model
 * path people know, with the data plane's version name beside it.
 */
import { verdictMarkdown } from '../analysis/report.ts';
import { describeStep } from '../specs/steps.ts';
import type { ApprovalRecord, DeploymentState, WaitingApproval } from './deployment-state.ts';
import { estimateLines } from './status.ts';
import { validationSummaryLines } from './validation-summary.ts';

const OUTCOME: Partial<Record<DeploymentState['stage'], string>> = {
  serving: '✅ **Serving**: this version answers all traffic',
  promoted: '✅ **Promoted**: the candidate passed every step and is now stable',
  'rolled-back': '↩️ **Rolled back**: stable serves all traffic again',
  rejected: '⛔ **Rejected** before any traffic',
};

function formatMetric(name: string, value: number): string {
  if (name.startsWith('latency')) return `${value.toFixed(3)} ms`;
  return value.toFixed(4);
}

/** `models/iris/v2/model.onnx (version 1a2b3c4d5e6f)` for the candidate, `version …` for stable. */
function versions(state: DeploymentState): { candidate: string; stable: string } {
  const version = state.dataPlane?.version;
  return {
    candidate: `\`${state.modelSource}\`${version ? ` (version \`${version}\`)` : ''}`,
    stable: state.dataPlane?.stable ? `the previous version \`${state.dataPlane.stable}\`` : 'none',
  };
}

/**
 * How to answer the approval step from the Web UI itself (Send an Update) or a terminal. The
 * JSON is exactly what the `approve` update takes: free text where the policy allows it,
 * otherwise the signed statement `modelship approve --print` produces.
 */
function approvalHowTo(
  state: Pick<DeploymentState, 'model' | 'environment' | 'unsignedApprovals'>,
  pending: WaitingApproval,
): string[] {
  const approver = pending.approvers[0] ?? '<name>';
  const dialog =
    'open **More Actions** at the top right of this page and choose **Send an Update**, update name `approve` (pick it in the Name list)';
  const confirm = `If the first click only re-indents the JSON, click **Submit** again; "Update successful" confirms it and **R** refreshes these details.`;
  const command = `npx modelship approve ${state.model} --env ${state.environment} --as ${approver}`;
  if (state.unsignedApprovals === 'refuse') {
    return [
      `**To approve in this Web UI:** ${dialog}, paste the signed statement this command prints (with your own name and key) into Data and click **Submit**:`,
      `\`${command} --key <your-private-key.pem> --print\``,
      `${state.environment} needs proof of who approves, so a name alone is refused: the statement names this run and step, is signed by the key the policy lists for you, and is valid for 15 minutes. Add \`--reject --comment "why"\` to reject.`,
      confirm,
      `**Or from a terminal:** the same command without \`--print\` sends it. With an OIDC ID token instead of a key: \`--oidc-token <file>\` (unless the issuer is exempt, the token's nonce must be the one \`--print\` shows without a key).`,
    ];
  }
  return [
    `**To approve in this Web UI:** ${dialog}, paste this into Data and click **Submit**:`,
    `\`{"approver":"${approver}","decision":"approve"}\``,
    confirm,
    `To reject: \`{"approver":"${approver}","decision":"reject","comment":"why"}\` (use your own name: one of ${pending.approvers.join(', ')})`,
    `**Or from a terminal:** \`${command}\``,
  ];
}

function waitingLines(state: DeploymentState): string[] {
  const pending = state.pending;
  if (!pending) return [];
  const step = state.rollout?.steps[pending.stepIndex];
  const waiting = [
    `**Waiting for approval** of step ${pending.stepIndex + 1}${step ? ` (${describeStep(step)})` : ''}, until ${pending.until}`,
    ...(pending.description ? [`Asked to check: ${pending.description}`] : []),
  ];
  return ['', waiting.join('<br>'), '', approvalHowTo(state, pending).join('<br>')];
}

function rolloutLines(state: DeploymentState): string[] {
  const rollout = state.rollout;
  if (!rollout) return [];
  const { progress } = rollout;
  const steps = rollout.steps
    .map((step, index) => {
      const mark = index < progress.nextStepIndex ? '✓' : index === progress.nextStepIndex ? '▶' : '·';
      return `${mark} ${index + 1}. ${describeStep(step)}`;
    })
    .join('<br>');
  const { candidate, stable } = versions(state);
  const weight = progress.canaryWeight;
  const agreement = rollout.shadowAgreement;
  return [
    '',
    `**Traffic:** stable (${stable}) ${100 - weight}% · candidate ${candidate} ${weight}%${rollout.shadow ? ' · mirroring to the candidate' : ''}`,
    '',
    `**Steps:**<br>${steps}`,
    ...(agreement
      ? [
          '',
          `**Shadow agreement** (step ${agreement.stepIndex + 1}): ${agreement.agreement === null ? 'not measured (too few mirrored requests)' : `${Number((agreement.agreement * 100).toPrecision(4))} %`} of mirrored requests answered like stable (at least ${agreement.minAgreement * 100} % required)${agreement.evidence ? `; ${agreement.evidence}` : ''}`,
        ]
      : []),
    ...(rollout.estimates
      ? ['', `**Step estimates:**<br>${estimateLines(rollout.estimates).join('<br>')}`]
      : []),
  ];
}

function approvalLine(record: ApprovalRecord, state: DeploymentState): string {
  const step = state.rollout?.steps[record.stepIndex];
  const where =
    record.stepIndex >= 0
      ? `step ${record.stepIndex + 1}${step ? ` (${describeStep(step)})` : ''}`
      : 'no step pending';
  const comment = record.comment ? `: "${record.comment}"` : '';
  const proof = record.proof
    ? ` (proven by ${record.proof.method === 'signature' ? 'key signature' : `${record.proof.issuer ?? 'OIDC'} token`}, proof ${record.proof.fingerprint})`
    : '';
  switch (record.decision) {
    case 'approve':
      return `${where}: approved by ${record.approver}${proof} at ${record.at}${comment}`;
    case 'reject':
      return `${where}: rejected by ${record.approver}${proof} at ${record.at}${comment}`;
    case 'timeout':
      return `${where}: nobody decided in time (${record.at})`;
    case 'refused':
      return `${where}: ${record.approver} was refused at ${record.at}${record.reason ? `: ${record.reason}` : ''}`;
  }
}

function supplyChainLines(state: DeploymentState): string[] {
  const lines: string[] = [];
  if (state.artifact) {
    lines.push(
      '',
      `**Artifact:** \`${state.modelSource}\`, sha256 \`${state.artifact.sha256.slice(0, 16)}…\` (${state.artifact.sizeBytes} bytes)`,
    );
  }
  if (state.validation && state.validation.length > 0) {
    const metrics = state.validation.map(
      (metric) =>
        `• ${metric.name} ${formatMetric(metric.name, metric.value)}: ${metric.passed ? 'pass' : '**FAIL**'}`,
    );
    const summary = state.validationSummary ? validationSummaryLines(state.validationSummary) : [];
    lines.push('', `**Offline validation:**<br>${[...metrics, ...summary].join('<br>')}`);
  }
  if (state.signature) lines.push('', `**Signature:** ${state.signature}`);
  if (state.promotion) lines.push('', `**Promotion:** ${state.promotion.join('<br>')}`);
  if (state.origin) {
    const { actor, issuerName, repository, ref } = state.origin;
    const from = repository ? ` from ${repository}${ref ? ` ${ref}` : ''}` : '';
    lines.push('', `**Started by:** ${actor}${from} (verified by ${issuerName})`);
  } else if (state.origin === null) {
    lines.push('', '**Started by:** not proven (no origin token; the commit author stands in for four eyes)');
  }
  if (state.scanFindings !== undefined) lines.push('', `**Scan:** ${state.scanFindings} finding(s)`);
  if (state.policy && state.policy.length > 0) {
    const rules = state.policy.map(
      (result) => `• ${result.rule}: ${result.passed ? 'pass' : '**FAIL**'} (${result.reason})`,
    );
    lines.push('', `**Environment policy:**<br>${rules.join('<br>')}`);
  }
  if (state.bundle) lines.push('', `**Bundle:** \`${state.bundle.digest.slice(0, 16)}…\``);
  if (state.dataPlane && !state.rollout) {
    lines.push(
      '',
      `**Data plane:** version \`${state.dataPlane.version}\`, stable \`${state.dataPlane.stable ?? 'none'}\``,
    );
  }
  return lines;
}

/** Markdown for the Web UI's current details: outcome or stage first, then what is known so far. */
export function renderDetails(state: DeploymentState): string {
  const outcome = OUTCOME[state.stage];
  const lines = [
    `**${state.model}** → \`${state.environment}\`: \`${state.modelSource}\` at commit \`${state.commit.slice(0, 12)}\``,
    '',
    outcome ?? `**Stage:** ${state.stage}`,
  ];
  if (state.rejection) {
    lines.push(
      '',
      `**Rejected at ${state.rejection.step}** (${state.rejection.type}): ${state.rejection.message}`,
    );
  }
  if (state.rollback) lines.push('', `**Why it was rolled back:** ${state.rollback.reason}`);
  lines.push(...waitingLines(state), ...rolloutLines(state));
  const last = state.rollout?.progress.lastVerdict;
  if (last) {
    const step = state.rollout?.steps[last.index];
    lines.push(
      '',
      `**Last verdict, step ${last.index + 1}${step ? ` (${describeStep(step)})` : ''}:**`,
      '',
      verdictMarkdown(last.verdict),
    );
  }
  if (state.approvals.length > 0) {
    lines.push(
      '',
      `**Approvals:**<br>${state.approvals.map((record) => approvalLine(record, state)).join('<br>')}`,
    );
  }
  lines.push(...supplyChainLines(state));
  return lines.join('\n');
}
