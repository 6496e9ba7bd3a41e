/** Rollout steps in words a reviewer reads at a glance in a plan: what happens, for how long. */
import type { Step } from '../specs/schema.ts';

/**
 * `shadow 10m: mirror traffic, ≥ 98% agreement`, `setWeight 10%`, `pause 5m`,
 * `analysis 5m: judge live metrics every 15s`, `approval by alice or bob (timeout 8h): …`.
 */
export function describeStep(step: Step): string {
  switch (step.type) {
    case 'shadow':
      return `shadow ${step.duration}: mirror traffic, ≥ ${percent(step.minAgreement)} agreement with stable`;
    case 'setWeight':
      return `setWeight ${step.weight}%`;
    case 'pause':
      return `pause ${step.duration}`;
    case 'analysis':
      return `analysis ${step.duration}: judge live metrics every ${step.interval}`;
    case 'approval': {
      const who = `approval by ${step.approvers.join(' or ')} (timeout ${step.timeout})`;
      return step.description ? `${who}: ${step.description}` : who;
    }
  }
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}
