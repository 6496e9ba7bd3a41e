/**
 * An environment's policy judged against one spec: pure, so `plan` shows before merge exactly
 * the verdicts the workflow reaches after it. Without facts (plan time) each rule judges what the
 * spec declares; with facts (workflow time) the rules about signatures and validation also judge
 * what was verified and measured.
 *
 * One result per rule the policy switches on, in a fixed order, each named after the policy
 * field that sets it and with a reason that gives the numbers on both sides.
 */
import type { ModelDeployment } from '../../specs/schema.ts';
import { allowedSources, requiredSignatures, trustedKeys, validationFloors } from './model-rules.ts';
import type { PolicyFacts, PolicyRuleResult, RuleContext } from './results.ts';
import { analysisDuration, firstCanaryWeight, fourEyes, requiredApprovers } from './rollout-rules.ts';
import type { EnvironmentPolicy } from './schema.ts';

export { POLICY_RULES, type PolicyFacts, type PolicyRuleName, type PolicyRuleResult } from './results.ts';

/** Judges `spec` by `policy`; `facts` add what was verified and measured. */
export function evaluatePolicy(
  spec: ModelDeployment,
  policy: EnvironmentPolicy,
  facts: PolicyFacts = {},
): PolicyRuleResult[] {
  const env = policy.metadata.environment;
  const context: RuleContext = { spec, policy, facts, env, steps: spec.spec.rollout.steps };
  return [
    ...trustedKeys(context),
    ...requiredSignatures(context),
    ...allowedSources(context),
    ...validationFloors(context),
    ...firstCanaryWeight(context),
    ...analysisDuration(context),
    ...requiredApprovers(context),
    ...fourEyes(context),
  ];
}

/** True when every rule passed (also for no rule at all). */
export function policyPassed(results: readonly PolicyRuleResult[]): boolean {
  return results.every((result) => result.passed);
}

/** One line per rule for terminals and logs: `pass  rule: reason` / `FAIL  rule: reason`. */
export function formatPolicyResults(results: readonly PolicyRuleResult[]): string {
  return results
    .map((result) => `${result.passed ? 'pass' : 'FAIL'}  ${result.rule}: ${result.reason}`)
    .join('\n');
}
