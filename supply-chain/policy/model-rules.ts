/**
 * The policy rules about the model itself: which keys signed it, where it comes from, and the
 * validation floors its spec must declare and its measurements must meet.
 */
import { formatDuration, parseDuration } from '../../specs/duration.ts';
import { list, type PolicyRuleResult, type RuleContext } from './results.ts';
import { matchingSourcePattern } from './source-patterns.ts';

/** `signatures.trustedKeys`: every key the spec names in `security.signedBy` is one the environment trusts. */
export function trustedKeys({ spec, policy, env }: RuleContext): PolicyRuleResult[] {
  const { signedBy } = spec.spec.security;
  if (signedBy.length === 0) return [];
  const trusted = Object.keys(policy.signatures.trustedKeys);
  const untrusted = signedBy.filter((key) => !trusted.includes(key));
  const first = untrusted[0];
  if (first === undefined) {
    return [
      {
        rule: 'signatures.trustedKeys',
        passed: true,
        reason: `${list(signedBy)} ${signedBy.length === 1 ? 'is a key' : 'are keys'} ${env} trusts`,
        path: ['spec', 'security', 'signedBy'],
      },
    ];
  }
  return [
    {
      rule: 'signatures.trustedKeys',
      passed: false,
      reason: `${list(untrusted)} ${untrusted.length === 1 ? 'is not a key' : 'are not keys'} ${env} trusts (trusted: ${trusted.length > 0 ? list(trusted) : 'none'}): no signature by ${untrusted.length === 1 ? 'it' : 'them'} can be verified here`,
      path: ['spec', 'security', 'signedBy', signedBy.indexOf(first)],
    },
  ];
}

/**
 * `signatures.required`: the model is signed by each required key. Signatures are verified by the
 * scan step, so without facts this only states the requirement.
 */
export function requiredSignatures({ policy, facts, env }: RuleContext): PolicyRuleResult[] {
  const { required } = policy.signatures;
  if (required.length === 0) return [];
  const path = ['spec', 'model'];
  if (facts.signedBy === undefined) {
    return [
      {
        rule: 'signatures.required',
        passed: true,
        reason: `${env} requires signatures by ${list(required)}: the scan step verifies them before any traffic`,
        path,
      },
    ];
  }
  const verified = facts.signedBy;
  const missing = required.filter((key) => !verified.includes(key));
  return [
    missing.length === 0
      ? {
          rule: 'signatures.required',
          passed: true,
          reason: `signed by ${list(required)}, as ${env} requires`,
          path,
        }
      : {
          rule: 'signatures.required',
          passed: false,
          reason: `the model is not signed by ${list(missing)}, which ${env} requires (verified: ${verified.length > 0 ? list(verified) : 'none'})`,
          path,
        },
  ];
}

/** `artifacts.allowedSources`: the model source falls under one of the allowed patterns. */
export function allowedSources({ spec, policy, env }: RuleContext): PolicyRuleResult[] {
  const patterns = policy.artifacts.allowedSources;
  if (patterns.length === 0) return [];
  const { source } = spec.spec.model;
  const match = matchingSourcePattern(source, patterns);
  const path = ['spec', 'model', 'source'];
  return [
    match === undefined
      ? {
          rule: 'artifacts.allowedSources',
          passed: false,
          reason: `model source ${source} is outside the sources ${env} allows (${patterns.join(', ')})`,
          path,
        }
      : {
          rule: 'artifacts.allowedSources',
          passed: true,
          reason: `model source ${source} matches ${match}`,
          path,
        },
  ];
}

/** `validation.*`: each floor declared at least as strictly by the spec, and met by what was measured. */
export function validationFloors(context: RuleContext): PolicyRuleResult[] {
  const measured = context.facts.validation ?? {};
  return [
    ...minimum(context, 'accuracy', 'accuracy', measured.accuracy),
    ...minimum(context, 'f1Macro', 'macro F1', measured.f1Macro),
    ...maximum(context, 'latencyP50', 'p50 latency', measured.latencyP50Ms),
    ...maximum(context, 'latencyP99', 'p99 latency', measured.latencyP99Ms),
  ];
}

function minimum(
  { spec, policy, env }: RuleContext,
  metric: 'accuracy' | 'f1Macro',
  words: string,
  measured: number | undefined,
): PolicyRuleResult[] {
  const floor = policy.validation[metric]?.min;
  if (floor === undefined) return [];
  const rule = `validation.${metric}` as const;
  const declared = spec.spec.validation.metrics[metric]?.min;
  const path = ['spec', 'validation', 'metrics', metric];
  if (declared === undefined) {
    return [
      {
        rule,
        passed: false,
        reason: `the spec does not require a minimum ${words}; ${env} requires one of at least ${floor}`,
        path: ['spec', 'validation', 'metrics'],
      },
    ];
  }
  if (declared < floor) {
    return [
      {
        rule,
        passed: false,
        reason: `declared minimum ${words} ${declared} is below the ${env} minimum of ${floor}`,
        path: [...path, 'min'],
      },
    ];
  }
  if (measured !== undefined && measured < floor) {
    return [
      {
        rule,
        passed: false,
        reason: `measured ${words} ${measured} is below the ${env} minimum of ${floor}`,
        path,
      },
    ];
  }
  const also = measured === undefined ? '' : `; measured ${measured}`;
  return [
    {
      rule,
      passed: true,
      reason: `declared minimum ${words} ${declared} meets the ${env} minimum of ${floor}${also}`,
      path,
    },
  ];
}

function maximum(
  { spec, policy, env }: RuleContext,
  metric: 'latencyP50' | 'latencyP99',
  words: string,
  measuredMs: number | undefined,
): PolicyRuleResult[] {
  const ceiling = policy.validation[metric]?.max;
  if (ceiling === undefined) return [];
  const ceilingMs = parseDuration(ceiling);
  const rule = `validation.${metric}` as const;
  const declared = spec.spec.validation.metrics[metric]?.max;
  const path = ['spec', 'validation', 'metrics', metric];
  if (declared === undefined) {
    return [
      {
        rule,
        passed: false,
        reason: `the spec does not cap ${words}; ${env} requires a cap of at most ${ceiling}`,
        path: ['spec', 'validation', 'metrics'],
      },
    ];
  }
  if (parseDuration(declared) > ceilingMs) {
    return [
      {
        rule,
        passed: false,
        reason: `declared ${words} cap ${declared} is above the ${env} maximum of ${ceiling}`,
        path: [...path, 'max'],
      },
    ];
  }
  if (measuredMs !== undefined && measuredMs > ceilingMs) {
    return [
      {
        rule,
        passed: false,
        reason: `measured ${words} ${formatDuration(measuredMs)} is above the ${env} maximum of ${ceiling}`,
        path,
      },
    ];
  }
  const also = measuredMs === undefined ? '' : `; measured ${formatDuration(measuredMs)}`;
  return [
    {
      rule,
      passed: true,
      reason: `declared ${words} cap ${declared} is within the ${env} maximum of ${ceiling}${also}`,
      path,
    },
  ];
}
