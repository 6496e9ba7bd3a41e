/**
 * `evaluatePolicy`: each rule passing and failing with the reason a reviewer reads, judged on
 * what a spec declares (plan time) and on what the workflow verified and measured (facts).
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../specs/parse.ts';
import type { ModelDeployment } from '../../specs/schema.ts';
import {
  evaluatePolicy,
  formatPolicyResults,
  POLICY_RULES,
  type PolicyFacts,
  type PolicyRuleResult,
  policyPassed,
} from '../../supply-chain/policy/evaluate.ts';
import { parsePolicy } from '../../supply-chain/policy/load.ts';
import type { EnvironmentPolicy } from '../../supply-chain/policy/schema.ts';
import { matchingSourcePattern } from '../../supply-chain/policy/source-patterns.ts';
import { type ExampleSpecOptions, exampleSpecYaml } from '../support/model-catalog.ts';

function spec(options: Partial<ExampleSpecOptions> = {}): ModelDeployment {
  const result = parseSpec(exampleSpecYaml({ dataset: 'iris', version: 'v2', ...options }));
  if (!result.ok) throw new Error(`test spec is invalid: ${JSON.stringify(result.errors)}`);
  return result.spec;
}

function policy(body: string, environment = 'production'): EnvironmentPolicy {
  const result = parsePolicy(
    `apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: ${environment} }\n${body}`,
  );
  if (!result.ok) throw new Error(`test policy is invalid: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

/** The one result of `rule`; fails the test when the rule did not report exactly once. */
function verdict(
  model: ModelDeployment,
  rules: EnvironmentPolicy,
  rule: string,
  facts?: PolicyFacts,
): Omit<PolicyRuleResult, 'path'> {
  const results = evaluatePolicy(model, rules, facts).filter((result) => result.rule === rule);
  expect(results).toHaveLength(1);
  const [{ path: _, ...result }] = results as [PolicyRuleResult];
  return result;
}

const AUTHOR = { name: 'Alice Liddell', email: 'alice@example.com' };
const STEPS_WITH_APPROVAL = (approvers: string) => [
  'setWeight: 5',
  'analysis: { duration: 30m }',
  `approval: { approvers: [${approvers}] }`,
  'setWeight: 100',
];

describe('evaluatePolicy', () => {
  it('judges nothing under a policy that sets nothing outside production', () => {
    expect(evaluatePolicy(spec(), policy('', 'staging'))).toEqual([]);
    expect(policyPassed([])).toBe(true);
  });

  it('lists one result per rule the policy sets, in a fixed order, with the spec field to change', () => {
    const strict = policy(`
signatures: { trustedKeys: { release: keys/release.pub }, required: [release] }
artifacts: { allowedSources: ["models/**"] }
validation:
  accuracy: { min: 0.9 }
  f1Macro: { min: 0.8 }
  latencyP50: { max: 2ms }
  latencyP99: { max: 20ms }
rollout: { maxFirstCanaryWeight: 10, minAnalysisDuration: 10m, requiredApprovers: [carol] }
`);
    const model = spec({ analysis: '  security:\n    signedBy: [release]\n' });
    const results = evaluatePolicy(model, strict);
    expect(results.map(({ rule }) => rule)).toEqual(POLICY_RULES);
    expect(results.find(({ rule }) => rule === 'rollout.maxFirstCanaryWeight')?.path).toEqual([
      'spec',
      'rollout',
      'steps',
      0,
      'setWeight',
    ]);
    expect(policyPassed(results)).toBe(false);
  });

  describe('signatures', () => {
    const signed = policy(
      'signatures: { trustedKeys: { release: k/r.pub, ci: k/c.pub }, required: [release] }',
    );

    it('accepts spec keys the environment trusts and refuses others', () => {
      expect(
        verdict(spec({ analysis: '  security: { signedBy: [ci] }\n' }), signed, 'signatures.trustedKeys'),
      ).toEqual({
        rule: 'signatures.trustedKeys',
        passed: true,
        reason: 'ci is a key production trusts',
      });
      expect(
        verdict(
          spec({ analysis: '  security: { signedBy: [ci, laptop] }\n' }),
          signed,
          'signatures.trustedKeys',
        ),
      ).toEqual({
        rule: 'signatures.trustedKeys',
        passed: false,
        reason:
          'laptop is not a key production trusts (trusted: release, ci): no signature by it can be verified here',
      });
    });

    it('defers required signatures to the scan step at plan time, and judges verified keys', () => {
      expect(verdict(spec(), signed, 'signatures.required')).toEqual({
        rule: 'signatures.required',
        passed: true,
        reason: 'production requires signatures by release: the scan step verifies them before any traffic',
      });
      expect(verdict(spec(), signed, 'signatures.required', { signedBy: ['release'] }).passed).toBe(true);
      expect(verdict(spec(), signed, 'signatures.required', { signedBy: [] })).toEqual({
        rule: 'signatures.required',
        passed: false,
        reason: 'the model is not signed by release, which production requires (verified: none)',
      });
    });
  });

  describe('artifacts.allowedSources', () => {
    const sources = policy(
      'artifacts: { allowedSources: ["models/iris/**", "https://models.example.com/"] }',
    );

    it('passes a source under an allowed pattern and names the pattern', () => {
      expect(verdict(spec(), sources, 'artifacts.allowedSources')).toEqual({
        rule: 'artifacts.allowedSources',
        passed: true,
        reason: 'model source models/iris/v2/model.onnx matches models/iris/**',
      });
    });

    it('refuses a source outside every pattern', () => {
      const model = spec({ dataset: 'breast-cancer' });
      expect(verdict(model, sources, 'artifacts.allowedSources')).toEqual({
        rule: 'artifacts.allowedSources',
        passed: false,
        reason:
          'model source models/breast-cancer/v2/model.onnx is outside the sources production allows (models/iris/**, https://models.example.com/)',
      });
    });

    it('matches globs, folders and URI prefixes as documented', () => {
      expect(matchingSourcePattern('models/iris/v2/model.onnx', ['models/*/v2/model.onnx'])).toBe(
        'models/*/v2/model.onnx',
      );
      expect(matchingSourcePattern('models/iris/v2/model.onnx', ['models/*.onnx'])).toBeUndefined();
      expect(matchingSourcePattern('models/model.onnx', ['models/**/model.onnx'])).toBe(
        'models/**/model.onnx',
      );
      expect(matchingSourcePattern('models/iris/model.onnx', ['models'])).toBe('models');
      expect(matchingSourcePattern('models-old/iris/model.onnx', ['models'])).toBeUndefined();
      // Judged as the worker reads it: `..` cannot smuggle a path past a folder pattern.
      expect(matchingSourcePattern('models/../vendor/model.onnx', ['models/**'])).toBeUndefined();
      expect(matchingSourcePattern('./models/a.onnx', ['models/**'])).toBe('models/**');
      expect(
        matchingSourcePattern('https://models.example.com.attacker.test/m.onnx', [
          'https://models.example.com/',
        ]),
      ).toBeUndefined();
      expect(matchingSourcePattern('https://models.example.com/m.onnx', ['models/**'])).toBeUndefined();
    });
  });

  describe('validation', () => {
    const floors = policy(
      'validation: { accuracy: { min: 0.9 }, latencyP99: { max: 20ms }, f1Macro: { min: 0.8 } }',
    );

    it('requires the spec to declare each metric at least as strictly', () => {
      expect(verdict(spec({ minAccuracy: 0.95 }), floors, 'validation.accuracy')).toEqual({
        rule: 'validation.accuracy',
        passed: true,
        reason: 'declared minimum accuracy 0.95 meets the production minimum of 0.9',
      });
      expect(verdict(spec({ minAccuracy: 0.85 }), floors, 'validation.accuracy')).toEqual({
        rule: 'validation.accuracy',
        passed: false,
        reason: 'declared minimum accuracy 0.85 is below the production minimum of 0.9',
      });
      expect(verdict(spec(), floors, 'validation.f1Macro')).toEqual({
        rule: 'validation.f1Macro',
        passed: false,
        reason: 'the spec does not require a minimum macro F1; production requires one of at least 0.8',
      });
      // The example spec caps p99 at 250ms: looser than the policy's 20ms.
      expect(verdict(spec(), floors, 'validation.latencyP99')).toEqual({
        rule: 'validation.latencyP99',
        passed: false,
        reason: 'declared p99 latency cap 250ms is above the production maximum of 20ms',
      });
    });

    it('judges measured values against the policy when the workflow gives them', () => {
      const model = spec({ minAccuracy: 0.9 });
      expect(verdict(model, floors, 'validation.accuracy', { validation: { accuracy: 0.93 } })).toEqual({
        rule: 'validation.accuracy',
        passed: true,
        reason: 'declared minimum accuracy 0.9 meets the production minimum of 0.9; measured 0.93',
      });
      expect(verdict(model, floors, 'validation.accuracy', { validation: { accuracy: 0.89 } })).toEqual({
        rule: 'validation.accuracy',
        passed: false,
        reason: 'measured accuracy 0.89 is below the production minimum of 0.9',
      });
      const p99 = policy('validation: { latencyP99: { max: 500ms } }');
      expect(verdict(model, p99, 'validation.latencyP99', { validation: { latencyP99Ms: 620.5 } })).toEqual({
        rule: 'validation.latencyP99',
        passed: false,
        reason: 'measured p99 latency 620.5ms is above the production maximum of 500ms',
      });
      expect(
        verdict(model, p99, 'validation.latencyP99', { validation: { latencyP99Ms: 0.25 } }).reason,
      ).toBe('declared p99 latency cap 250ms is within the production maximum of 500ms; measured 250us');
    });
  });

  describe('rollout', () => {
    it('caps the first canary weight', () => {
      const capped = policy('rollout: { maxFirstCanaryWeight: 10 }');
      expect(
        verdict(spec({ steps: ['setWeight: 50', 'setWeight: 100'] }), capped, 'rollout.maxFirstCanaryWeight'),
      ).toEqual({
        rule: 'rollout.maxFirstCanaryWeight',
        passed: false,
        reason: 'first canary weight 50 % is above the production maximum of 10 %',
      });
      const gentle = spec({
        steps: ['shadow: { duration: 5m }', 'setWeight: 0', 'setWeight: 10', 'setWeight: 100'],
      });
      expect(verdict(gentle, capped, 'rollout.maxFirstCanaryWeight')).toEqual({
        rule: 'rollout.maxFirstCanaryWeight',
        passed: true,
        reason: 'first canary weight 10 % is within the production maximum of 10 %',
      });
      expect(
        verdict(spec({ steps: ['setWeight: 100'] }), capped, 'rollout.maxFirstCanaryWeight').reason,
      ).toBe('first canary weight 100 % is above the production maximum of 10 %');
    });

    it('sums the analysis before full weight against the minimum', () => {
      const looked = policy('rollout: { minAnalysisDuration: 1h }');
      const split = spec({
        steps: [
          'setWeight: 5',
          'analysis: { duration: 15m }',
          'setWeight: 25',
          'analysis: { duration: 45m, interval: 30s }',
          'setWeight: 100',
        ],
      });
      expect(verdict(split, looked, 'rollout.minAnalysisDuration')).toEqual({
        rule: 'rollout.minAnalysisDuration',
        passed: true,
        reason: 'analysis before full weight totals 1h (15m + 45m), at least the production minimum of 1h',
      });
      expect(verdict(spec(), looked, 'rollout.minAnalysisDuration')).toEqual({
        rule: 'rollout.minAnalysisDuration',
        passed: false,
        reason: 'analysis before full weight totals 1m, below the production minimum of 1h',
      });
      const blind = spec({ steps: ['setWeight: 10', 'pause: { duration: 2h }', 'setWeight: 100'] });
      expect(verdict(blind, looked, 'rollout.minAnalysisDuration')).toEqual({
        rule: 'rollout.minAnalysisDuration',
        passed: false,
        reason: 'no analysis step before full weight; production requires at least 1h of analysis',
      });
    });

    it('requires each required approver to have an approval step of their own before full weight', () => {
      const required = policy('rollout: { requiredApprovers: [carol, ml-leads] }');
      const own = spec({
        steps: [
          ...STEPS_WITH_APPROVAL('carol').slice(0, 3),
          'approval: { approvers: [ML-Leads] }',
          'setWeight: 100',
        ],
      });
      expect(verdict(own, required, 'rollout.requiredApprovers')).toEqual({
        rule: 'rollout.requiredApprovers',
        passed: true,
        reason: 'carol approves alone at steps.2; ml-leads approves alone at steps.3, before full weight',
      });
      expect(
        verdict(spec({ steps: STEPS_WITH_APPROVAL('bob, carol') }), required, 'rollout.requiredApprovers'),
      ).toEqual({
        rule: 'rollout.requiredApprovers',
        passed: false,
        reason:
          'production requires carol, ml-leads to approve before full weight: bob can approve steps.2 without carol: give carol an approval step of their own; no approval step before full weight lists ml-leads',
      });
    });

    it('enforces four eyes in production by default, as approval.ts does', () => {
      const production = policy('');
      expect(verdict(spec(), production, 'rollout.fourEyes')).toEqual({
        rule: 'rollout.fourEyes',
        passed: false,
        reason:
          'production requires four eyes, but no approval step comes before setWeight 100: add one whose approvers include someone other than the author',
      });
      const reviewed = spec({ steps: STEPS_WITH_APPROVAL('alice, bob') });
      expect(verdict(reviewed, production, 'rollout.fourEyes')).toEqual({
        rule: 'rollout.fourEyes',
        passed: true,
        reason:
          "steps.2 is an approval before full weight; the commit's author will not be able to approve it",
      });
      expect(verdict(reviewed, production, 'rollout.fourEyes', { commitAuthor: AUTHOR }).reason).toBe(
        'steps.2 is an approval before full weight, and every approval step lists someone other than the author (Alice Liddell <alice@example.com>)',
      );
      expect(evaluatePolicy(spec(), policy('rollout: { fourEyes: false }'))).toEqual([]);
      expect(evaluatePolicy(spec(), policy('', 'staging'))).toEqual([]);
    });

    it('refuses an approval step only the commit author could approve', () => {
      // `alice` is the author by the local part of her email, as approval.ts compares.
      const self = spec({ steps: STEPS_WITH_APPROVAL('Alice') });
      expect(
        verdict(self, policy('rollout: { fourEyes: true }', 'staging'), 'rollout.fourEyes', {
          commitAuthor: AUTHOR,
        }),
      ).toEqual({
        rule: 'rollout.fourEyes',
        passed: false,
        reason:
          'steps.2 can only be approved by Alice, the author of this change (Alice Liddell <alice@example.com>), who cannot approve it in staging: add another approver',
      });
    });
  });
});

describe('formatPolicyResults', () => {
  it('prints one line per rule, failures shouted', () => {
    const results = evaluatePolicy(
      spec({ steps: ['setWeight: 50', 'analysis: { duration: 30m }', 'setWeight: 100'] }),
      policy('rollout: { maxFirstCanaryWeight: 10, minAnalysisDuration: 30m, fourEyes: false }'),
    );
    expect(formatPolicyResults(results)).toBe(
      [
        'FAIL  rollout.maxFirstCanaryWeight: first canary weight 50 % is above the production maximum of 10 %',
        'pass  rollout.minAnalysisDuration: analysis before full weight totals 30m, at least the production minimum of 30m',
      ].join('\n'),
    );
  });
});
