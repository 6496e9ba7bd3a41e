/**
 * What the policy rules report and take: the rule names, one verdict, the workflow's facts, and
 * the context every rule reads. Shared by the rule modules and `evaluate.ts`.
 */

import type { CommitAuthor } from '../../domain/deployment.ts';
import type { FieldPath } from '../../specs/errors.ts';
import type { ModelDeployment, Step } from '../../specs/schema.ts';
import type { EnvironmentPolicy } from './schema.ts';

/** The rules, in the order results are listed. */
export const POLICY_RULES = [
  'signatures.trustedKeys',
  'signatures.required',
  'artifacts.allowedSources',
  'validation.accuracy',
  'validation.f1Macro',
  'validation.latencyP50',
  'validation.latencyP99',
  'rollout.maxFirstCanaryWeight',
  'rollout.minAnalysisDuration',
  'rollout.requiredApprovers',
  'rollout.fourEyes',
] as const;
export type PolicyRuleName = (typeof POLICY_RULES)[number];

/** One rule's verdict. */
export interface PolicyRuleResult {
  rule: PolicyRuleName;
  passed: boolean;
  /** Why, with the numbers: "first canary weight 50 % is above the production maximum of 10 %". */
  reason: string;
  /** The spec field to change when it failed (or that the verdict is about). */
  path?: FieldPath;
}

/** What the workflow knows that a spec cannot say. Every field is optional. */
export interface PolicyFacts {
  /** Keys whose signatures over the model were verified. */
  signedBy?: readonly string[];
  /** Offline validation as measured; latencies in milliseconds. */
  validation?: { accuracy?: number; f1Macro?: number; latencyP50Ms?: number; latencyP99Ms?: number };
  /** Who authored the commit being rolled out (`plan` knows it too: the head commit's author). */
  commitAuthor?: CommitAuthor;
}

/** What each rule reads. */
export interface RuleContext {
  spec: ModelDeployment;
  policy: EnvironmentPolicy;
  facts: PolicyFacts;
  env: string;
  steps: readonly Step[];
}

/** Path of the rollout steps in a spec. */
export const STEPS = ['spec', 'rollout', 'steps'] as const;

/** `a, b, c`: handles and key names as reasons list them. */
export function list(items: readonly string[]): string {
  return items.join(', ');
}
