/**
 * A plan as markdown for a pull-request comment: a heading, one summary line, a table a reviewer
 * can stop at, then a section per spec. Deterministic (no times, sorted input), so re-running
 * the plan on the same commits posts the same comment.
 */
import { shortId } from '../domain/short-id.ts';
import type { SpecError } from '../specs/errors.ts';
import { validationMarkdown } from '../supply-chain/evidence/model-card.ts';
import type { PolicyRuleResult } from '../supply-chain/policy/evaluate.ts';
import type { OfflineCheck } from './offline-checks.ts';
import { type Plan, POLICY_RULE_PREFIX, type SpecPlan, type SpecVerdict } from './plan.ts';

/** Lists longer than this (errors plus findings) fold into a `<details>` block. */
const FOLD_AFTER = 5;

const ICON: Record<SpecVerdict, string> = { ok: '✅', invalid: '❌', retire: '🗑️', moved: '➡️' };
const CHECK_ICON: Record<OfflineCheck['status'], string> = { passed: '✅', failed: '❌', skipped: '➖' };

/** The summary line: `3 specs changed: 1 ok, 1 invalid` (`, 1 removed` when any was). */
export function summaryLine(plan: Plan): string {
  const { changed, ok, invalid, removed } = plan.summary;
  const removals = removed > 0 ? `, ${removed} removed` : '';
  return `${changed} ${changed === 1 ? 'spec' : 'specs'} changed: ${ok} ok, ${invalid} invalid${removals}`;
}

/** The whole comment. */
export function renderPlanMarkdown(plan: Plan): string {
  const range = `${plan.base === null ? 'nothing' : code(shortId(plan.base))} → ${code(shortId(plan.head))}`;
  const lines = [`## modelship plan: ${range}`, '', `**${summaryLine(plan)}**`, ''];
  if (plan.specs.length === 0) {
    lines.push(
      `No ModelDeployment spec under ${code(`${plan.specsDir}/`)} changed: \`apply\` would do nothing.`,
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push('| | spec | deployment | what would happen |', '| --- | --- | --- | --- |');
  for (const spec of plan.specs) {
    lines.push(
      `| ${ICON[spec.verdict]} | ${code(spec.path)} | ${cell(deploymentText(spec))} | ${cell(outcome(spec))} |`,
    );
  }
  for (const spec of plan.specs) lines.push('', ...section(spec, plan.head));
  return `${lines.join('\n')}\n`;
}

function section(spec: SpecPlan, head: string): string[] {
  const lines = [`### ${ICON[spec.verdict]} ${code(spec.path)}: ${escapeText(outcome(spec))}`, ''];
  for (const note of spec.notes) lines.push(`> ${escapeText(note)}`, '');
  const { rollout, deployment } = spec;
  if (rollout && deployment) {
    const was = rollout.previous
      ? rollout.previous.sha256 === rollout.model.sha256
        ? ' (unchanged)'
        : ` (was ${code(rollout.previous.source)} ${code(shortId(rollout.previous.sha256))})`
      : '';
    lines.push(
      `- model: ${code(rollout.model.source)} sha256 ${code(shortId(rollout.model.sha256))}${was}`,
      `- owners: ${escapeText(rollout.owners.join(', '))}${rollout.approvers.length > 0 ? ` · approvers: ${escapeText(rollout.approvers.join(', '))}` : ''}`,
      ...spec.checks.map(
        (check) => `- ${CHECK_ICON[check.status]} ${check.name}: ${escapeText(check.detail)}`,
      ),
      ...policyLines(spec, head),
      ...promotionLines(spec),
      ...validationSummary(spec),
      '',
      rollout.kind === 'update'
        ? `Rollout in **${escapeText(deployment.environment)}** at ${code(shortId(head))}:`
        : `Rollout in **${escapeText(deployment.environment)}** at ${code(shortId(head))} (for versions after the first; a first deployment serves at once):`,
      '',
      ...rollout.steps.map((step, index) => `${index + 1}. ${escapeText(step)}`),
      ...validationDetails(spec),
    );
    return lines;
  }
  if (spec.verdict !== 'invalid') return trimEnd(lines);
  const problems = [
    ...specErrors(spec).map((error) => `- ${errorLine(error)}`),
    ...spec.checks.flatMap((check) => [
      `- ${CHECK_ICON[check.status]} ${check.name}: ${escapeText(check.detail)}`,
      ...(check.findings ?? []).map((finding) => `  - ${escapeText(finding)}`),
    ]),
  ];
  if (problems.length > FOLD_AFTER) {
    lines.push(
      `<details><summary>${escapeText(problemCount(spec))}</summary>`,
      '',
      ...problems,
      '',
      '</details>',
      // An HTML block ends only at a blank line: without it the list below would be swallowed.
      ...(spec.policy ? [''] : []),
    );
  } else {
    lines.push(...problems);
  }
  // Never folded: a failed policy rule is often the one thing the author has to change.
  lines.push(...policyLines(spec, head), ...promotionLines(spec), ...validationSummary(spec));
  lines.push(...validationDetails(spec));
  return lines;
}

/**
 * One line a reviewer reads at a glance: the holdout's verdict, the ratio metrics, the weakest
 * class and what drives the predictions; or why the model was not evaluated.
 */
function validationSummary(spec: SpecPlan): string[] {
  if (spec.validationSkipped)
    return [`- ${CHECK_ICON.skipped} validation: ${escapeText(spec.validationSkipped)}`];
  const report = spec.validation;
  if (!report) return [];
  const ratios = report.metrics
    .filter((metric) => metric.unit === 'ratio')
    .map((metric) => `${metric.name} ${round(metric.value)}${metric.passed ? '' : ' (below its floor)'}`);
  const classes = report.analysis?.classes.perClass ?? [];
  const weakest = [...classes].sort((a, b) => a.f1 - b.f1 || a.class - b.class)[0];
  const top =
    report.explanations?.importance?.features.slice(0, 3).map((feature) => code(feature.feature)) ?? [];
  const shift = report.explanations?.shift;
  const parts = [
    `${report.holdoutRows} holdout rows, ${ratios.join(', ')}`,
    ...(weakest && classes.length > 1 ? [`weakest class ${weakest.class} (F1 ${round(weakest.f1)})`] : []),
    ...(top.length > 0 ? [`driven most by ${top.join(', ')}`] : []),
    ...(shift ? [`${shift.overlap} of the top ${shift.k} shared with the model it replaces`] : []),
    ...(report.privacy
      ? [`personal data let through by the policy, masked (${report.privacy.holdout.total} value(s))`]
      : []),
  ];
  return [
    `- ${report.passed ? CHECK_ICON.passed : CHECK_ICON.failed} validation: ${escapeText(parts.join('; '))}`,
  ];
}

/** The full report, folded: per class, confusion, calibration, slices, importance (a Mermaid chart) and its shift. */
function validationDetails(spec: SpecPlan): string[] {
  const report = spec.validation;
  if (!report) return [];
  return [
    '',
    '<details><summary>Validation report: per class, calibration, slices, what drives the predictions</summary>',
    '',
    ...validationMarkdown(
      { validation: report, holdoutPath: report.holdoutPath },
      { headingLevel: 4, against: 'the model it replaces' },
    ),
    '',
    '</details>',
  ];
}

function round(value: number): string {
  return String(Number(value.toFixed(4)));
}

/** The evidence the artifact passed `spec.promotion.from`: when it served there, verdicts, approvers, monitor. */
function promotionLines(spec: SpecPlan): string[] {
  const { promotion } = spec;
  if (!promotion) return [];
  const [head = '', ...rest] = promotion.lines;
  return [
    `- ${promotion.passed ? CHECK_ICON.passed : CHECK_ICON.failed} promotion: ${escapeText(head)}`,
    ...rest.map((line) => `  ${escapeText(line)}`),
  ];
}

/**
 * The policy block: one line when no policy applies, the policy file's errors when it is broken,
 * else every rule's verdict, a failure with the spec position to change.
 */
function policyLines(spec: SpecPlan, head: string): string[] {
  const { policy } = spec;
  if (policy === undefined) return [];
  const file = code(policy.file);
  switch (policy.status) {
    case 'none': {
      if (policy.results.length === 0) {
        return [`- ${CHECK_ICON.skipped} policy: no ${file} at ${code(shortId(head))}, so no policy applies`];
      }
      // Without a file the default policy still judges (four eyes in production), as the worker does.
      const failed = policy.results.filter((result) => !result.passed).length;
      return [
        `- ${failed === 0 ? CHECK_ICON.passed : CHECK_ICON.failed} policy: no ${file} at ${code(shortId(head))}, so the default policy of ${escapeText(policy.environment)} applies`,
        ...ruleLines(spec, policy.results),
      ];
    }
    case 'invalid': {
      const errors = spec.errors.filter((error) => error.file === policy.file);
      return [
        `- ${CHECK_ICON.failed} policy ${file}: ${count(errors.length, 'error')} in the policy file; nothing deploys to ${escapeText(policy.environment)} until it is fixed`,
        ...errors.map((error) => `  - ${errorLine(error)}`),
      ];
    }
    case 'judged': {
      const failed = policy.results.filter((result) => !result.passed).length;
      const summary =
        policy.results.length === 0
          ? 'no rule applies to this spec'
          : failed === 0
            ? `${count(policy.results.length, 'rule')} passed`
            : `${failed} of ${count(policy.results.length, 'rule')} failed`;
      return [
        `- ${failed === 0 ? CHECK_ICON.passed : CHECK_ICON.failed} policy ${file}: ${summary}`,
        ...ruleLines(spec, policy.results),
      ];
    }
  }
}

/** One line per rule verdict, a failure with the spec position to change. */
function ruleLines(spec: SpecPlan, results: readonly PolicyRuleResult[]): string[] {
  return results.map((result) => {
    const icon = result.passed ? CHECK_ICON.passed : CHECK_ICON.failed;
    const error = result.passed
      ? undefined
      : spec.errors.find((candidate) => candidate.rule === `${POLICY_RULE_PREFIX}${result.rule}`);
    const where = error ? ` (${code(`${error.file}:${error.line}:${error.column}`)})` : '';
    return `  - ${icon} ${result.rule}: ${escapeText(result.reason)}${where}`;
  });
}

/** The spec's errors that are not the policy's: those are listed in the policy block. */
function specErrors(spec: SpecPlan): SpecError[] {
  return spec.errors.filter((error) => !isPolicyError(spec, error));
}

function isPolicyError(spec: SpecPlan, error: SpecError): boolean {
  return error.file === spec.policy?.file || error.rule?.startsWith(POLICY_RULE_PREFIX) === true;
}

function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

/** `` `specs/x.yaml:4:9` `metadata.name`: message ``: the position stands out, the message reads as text. */
function errorLine(error: SpecError): string {
  const where = code(`${error.file}:${error.line}:${error.column}`);
  return error.path === ''
    ? `${where} ${escapeText(error.message)}`
    : `${where} ${code(error.path)}: ${escapeText(error.message)}`;
}

/** What `apply` would do with this spec, in a few words. */
function outcome(spec: SpecPlan): string {
  const where = spec.deployment ? `${spec.deployment.model} in ${spec.deployment.environment}` : '';
  switch (spec.verdict) {
    case 'ok': {
      const steps = spec.rollout?.steps.length ?? 0;
      const plural = `${steps} ${steps === 1 ? 'step' : 'steps'}`;
      // A model's first version serves at once; the steps govern the versions after it.
      return spec.rollout?.kind === 'update'
        ? `update ${where}, ${plural}`
        : `new deployment of ${where}: serves at once unless already deployed, later versions roll out in ${plural}`;
    }
    case 'invalid':
      return `invalid: ${problemCount(spec)}`;
    case 'retire':
      return spec.deployment === undefined
        ? 'removed; names no deployment, nothing to retire'
        : `retire ${spec.deployment.model} from ${spec.deployment.environment}: traffic stops, versions unloaded`;
    case 'moved':
      return 'removed; its deployment lives on in another spec';
  }
}

function problemCount(spec: SpecPlan): string {
  const errors = specErrors(spec).length;
  const failed = spec.checks.filter((check) => check.status === 'failed').length;
  const policy = spec.policy;
  const failedRules = policy?.results.filter((result) => !result.passed).length ?? 0;
  const parts = [
    ...(errors > 0 ? [count(errors, 'error')] : []),
    ...(failed > 0 ? [`${failed} failed ${failed === 1 ? 'check' : 'checks'}`] : []),
    ...(failedRules > 0 ? [`${failedRules} failed policy ${failedRules === 1 ? 'rule' : 'rules'}`] : []),
    ...(policy?.status === 'invalid' ? [`invalid policy ${policy.file}`] : []),
  ];
  return parts.join(', ');
}

function deploymentText(spec: SpecPlan): string {
  return spec.deployment ? `${spec.deployment.model} → ${spec.deployment.environment}` : '?';
}

function code(text: string): string {
  return `\`${text.replaceAll('`', "'")}\``;
}

/** Text from specs and errors, safe in markdown: no raw HTML, no accidental tables. */
function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function cell(text: string): string {
  return escapeText(text).replaceAll('|', '\\|');
}

function trimEnd(lines: string[]): string[] {
  while (lines.at(-1) === '') lines.pop();
  return lines;
}
