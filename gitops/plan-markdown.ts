/**
 * A plan as markdown for a pull-request comment: a heading, one summary line, a table a reviewer
 * can stop at, then a section per spec. Deterministic (no times, sorted input), so re-running
 * the plan on the same commits posts the same comment.
 */
import type { SpecError } from '../specs/errors.ts';
import type { OfflineCheck } from './offline-checks.ts';
import type { Plan, SpecPlan, SpecVerdict } from './plan.ts';

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
  const range = `${plan.base === null ? 'nothing' : code(short(plan.base))} → ${code(short(plan.head))}`;
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
        : ` (was ${code(rollout.previous.source)} ${code(short(rollout.previous.sha256))})`
      : '';
    lines.push(
      `- model: ${code(rollout.model.source)} sha256 ${code(short(rollout.model.sha256))}${was}`,
      `- owners: ${escapeText(rollout.owners.join(', '))}${rollout.approvers.length > 0 ? ` · approvers: ${escapeText(rollout.approvers.join(', '))}` : ''}`,
      ...spec.checks.map(
        (check) => `- ${CHECK_ICON[check.status]} ${check.name}: ${escapeText(check.detail)}`,
      ),
      '',
      rollout.kind === 'update'
        ? `Rollout in **${escapeText(deployment.environment)}** at ${code(short(head))}:`
        : `Rollout in **${escapeText(deployment.environment)}** at ${code(short(head))} (for versions after the first; a first deployment serves at once):`,
      '',
      ...rollout.steps.map((step, index) => `${index + 1}. ${escapeText(step)}`),
    );
    return lines;
  }
  if (spec.verdict !== 'invalid') return trimEnd(lines);
  const problems = [
    ...spec.errors.map((error) => `- ${errorLine(error)}`),
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
    );
  } else {
    lines.push(...problems);
  }
  return lines;
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
  const failed = spec.checks.filter((check) => check.status === 'failed').length;
  const parts = [
    ...(spec.errors.length > 0
      ? [`${spec.errors.length} ${spec.errors.length === 1 ? 'error' : 'errors'}`]
      : []),
    ...(failed > 0 ? [`${failed} failed ${failed === 1 ? 'check' : 'checks'}`] : []),
  ];
  return parts.join(', ');
}

function deploymentText(spec: SpecPlan): string {
  return spec.deployment ? `${spec.deployment.model} → ${spec.deployment.environment}` : '?';
}

function short(sha: string): string {
  return sha.slice(0, 12);
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
