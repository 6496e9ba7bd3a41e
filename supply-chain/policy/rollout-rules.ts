/**
 * The policy rules about the rollout steps a spec declares: how much traffic the first canary
 * gets, how long live traffic is judged, and who must approve before full weight.
 */

import { approvalProblem } from '../../domain/approval.ts';
import { formatDuration, parseDuration } from '../../specs/duration.ts';
import type { FieldPath } from '../../specs/errors.ts';
import type { Step } from '../../specs/schema.ts';
import { list, type PolicyRuleResult, type RuleContext, STEPS } from './results.ts';

/** `rollout.maxFirstCanaryWeight`: the first setWeight above 0 stays within the maximum. */
export function firstCanaryWeight({ policy, env, steps }: RuleContext): PolicyRuleResult[] {
  const max = policy.rollout.maxFirstCanaryWeight;
  if (max === undefined) return [];
  const index = steps.findIndex((step) => step.type === 'setWeight' && step.weight > 0);
  const step = steps[index];
  const rule = 'rollout.maxFirstCanaryWeight';
  if (step?.type !== 'setWeight') {
    return [
      {
        rule,
        passed: false,
        reason: 'no setWeight above 0: the candidate never gets traffic',
        path: [...STEPS],
      },
    ];
  }
  const path = [...STEPS, index, 'setWeight'];
  return [
    step.weight > max
      ? {
          rule,
          passed: false,
          reason: `first canary weight ${step.weight} % is above the ${env} maximum of ${max} %`,
          path,
        }
      : {
          rule,
          passed: true,
          reason: `first canary weight ${step.weight} % is within the ${env} maximum of ${max} %`,
          path,
        },
  ];
}

/**
 * `rollout.minAnalysisDuration`, summed over the analysis steps before full weight: how long
 * live traffic is judged before the candidate gets it all. A sum, not a floor per step, so that
 * splitting one long look into several at rising weights (a safer rollout) is not penalised.
 */
export function analysisDuration({ policy, env, steps }: RuleContext): PolicyRuleResult[] {
  const min = policy.rollout.minAnalysisDuration;
  if (min === undefined) return [];
  const analyses = beforeFullWeight(steps).filter(
    (entry): entry is { step: Extract<Step, { type: 'analysis' }>; index: number } =>
      entry.step.type === 'analysis',
  );
  const totalMs = analyses.reduce((sum, { step }) => sum + parseDuration(step.duration), 0);
  const rule = 'rollout.minAnalysisDuration';
  const path = [...STEPS];
  if (analyses.length === 0) {
    return [
      {
        rule,
        passed: false,
        reason: `no analysis step before full weight; ${env} requires at least ${min} of analysis`,
        path,
      },
    ];
  }
  const parts = analyses.length > 1 ? ` (${analyses.map(({ step }) => step.duration).join(' + ')})` : '';
  const total = `analysis before full weight totals ${formatSpan(totalMs)}${parts}`;
  return [
    totalMs < parseDuration(min)
      ? { rule, passed: false, reason: `${total}, below the ${env} minimum of ${min}`, path }
      : { rule, passed: true, reason: `${total}, at least the ${env} minimum of ${min}`, path },
  ];
}

/**
 * `rollout.requiredApprovers`: each handle is the sole approver of a step before full weight.
 * Any one listed approver can approve a step, so a handle listed beside others can be bypassed:
 * a required approver's decision is necessary only in a step where they are the sole approver.
 */
export function requiredApprovers({ policy, env, steps }: RuleContext): PolicyRuleResult[] {
  const required = policy.rollout.requiredApprovers;
  if (required === undefined) return [];
  const approvals = beforeFullWeight(steps).flatMap(({ step, index }) =>
    step.type === 'approval' ? [{ approvers: step.approvers, index }] : [],
  );
  const failures: string[] = [];
  const passes: string[] = [];
  let path: FieldPath = [...STEPS];
  for (const handle of required) {
    const lists = approvals.filter(({ approvers }) => approvers.some((name) => same(name, handle)));
    const alone = lists.find(({ approvers }) => approvers.every((name) => same(name, handle)));
    if (alone !== undefined) {
      passes.push(`${handle} approves alone at steps.${alone.index}`);
      continue;
    }
    const shared = lists[0];
    if (shared === undefined) {
      failures.push(`no approval step before full weight lists ${handle}`);
    } else {
      const others = shared.approvers.filter((name) => !same(name, handle));
      failures.push(
        `${list(others)} can approve steps.${shared.index} without ${handle}: give ${handle} an approval step of their own`,
      );
      if (failures.length === 1) path = [...STEPS, shared.index, 'approval', 'approvers'];
    }
  }
  const rule = 'rollout.requiredApprovers';
  return [
    failures.length > 0
      ? {
          rule,
          passed: false,
          reason: `${env} requires ${list(required)} to approve before full weight: ${failures.join('; ')}`,
          path,
        }
      : { rule, passed: true, reason: `${passes.join('; ')}, before full weight`, path },
  ];
}

/**
 * `rollout.fourEyes`: the rule `domain/approval.ts` decides when an approval arrives (the
 * commit's author cannot approve), judged ahead: an approval step must come before full weight,
 * and no approval step may list only the author, since it could then never be approved.
 */
export function fourEyes({ policy, facts, env, steps }: RuleContext): PolicyRuleResult[] {
  if (!policy.rollout.fourEyes) return [];
  const rule = 'rollout.fourEyes';
  const gate = beforeFullWeight(steps).find(({ step }) => step.type === 'approval');
  if (gate === undefined) {
    return [
      {
        rule,
        passed: false,
        reason: `${env} requires four eyes, but no approval step comes before setWeight 100: add one whose approvers include someone other than the author`,
        path: [...STEPS],
      },
    ];
  }
  const author = facts.commitAuthor;
  if (author === undefined) {
    return [
      {
        rule,
        passed: true,
        reason: `steps.${gate.index} is an approval before full weight; the commit's author will not be able to approve it`,
        path: [...STEPS, gate.index, 'approval'],
      },
    ];
  }
  const who = `${author.name} <${author.email}>`;
  for (const [index, step] of steps.entries()) {
    if (step.type !== 'approval') continue;
    const pending = { stepIndex: index, approvers: step.approvers };
    // Asked as in production, where approval.ts applies four eyes: this rule is on here.
    const isAuthor = (approver: string) =>
      approvalProblem({ approver, decision: 'approve' }, pending, { environment: 'production', author }) !==
      undefined;
    if (step.approvers.every(isAuthor)) {
      return [
        {
          rule,
          passed: false,
          reason: `steps.${index} can only be approved by ${list(step.approvers)}, the author of this change (${who}), who cannot approve it in ${env}: add another approver`,
          path: [...STEPS, index, 'approval', 'approvers'],
        },
      ];
    }
  }
  return [
    {
      rule,
      passed: true,
      reason: `steps.${gate.index} is an approval before full weight, and every approval step lists someone other than the author (${who})`,
      path: [...STEPS, gate.index, 'approval'],
    },
  ];
}

/** The steps before the first setWeight 100 (all of them when there is none). */
function beforeFullWeight(steps: readonly Step[]): { step: Step; index: number }[] {
  const full = steps.findIndex((step) => step.type === 'setWeight' && step.weight === 100);
  return steps.slice(0, full === -1 ? steps.length : full).map((step, index) => ({ step, index }));
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `2h15m`, `45m`, `90s`: exact, unlike `formatDuration`'s one rounded unit. */
function formatSpan(ms: number): string {
  if (ms < 1000) return formatDuration(ms);
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out;
}
