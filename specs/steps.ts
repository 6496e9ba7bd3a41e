/**
 * Rollout steps in words, in one wording at three lengths, so that `modelship validate`, the
 * plan, the `status` query, the Web UI and `apply`'s progress lines name a step alike:
 *
 * - `compact`: `shadow 10m`, `10%`, `pause 5m`, `analysis 5m`, `approval by alice or bob`
 *   (a spec's one-line summary);
 * - `brief` (default): `shadow 10m (agreement ≥ 0.98)`, `setWeight 10%`, `pause 5m`,
 *   `analysis 5m`, `approval by alice or bob` (status, details, progress);
 * - `full`: brief plus what happens and for how long, for a reviewer reading a plan.
 */
import type { Step } from './schema.ts';

export type StepDetail = 'compact' | 'brief' | 'full';

export function describeStep(step: Step, detail: StepDetail = 'brief'): string {
  switch (step.type) {
    case 'shadow': {
      if (detail === 'compact') return `shadow ${step.duration}`;
      const brief = `shadow ${step.duration} (agreement ≥ ${step.minAgreement})`;
      return detail === 'full' ? `${brief}: mirror traffic, compare the answers, never return them` : brief;
    }
    case 'setWeight':
      return detail === 'compact' ? `${step.weight}%` : `setWeight ${step.weight}%`;
    case 'pause':
      return `pause ${step.duration}`;
    case 'analysis':
      return detail === 'full'
        ? `analysis ${step.duration}: judge live metrics every ${step.interval}`
        : `analysis ${step.duration}`;
    case 'approval': {
      const brief = `approval by ${step.approvers.join(' or ')}`;
      if (detail !== 'full') return brief;
      const who = `${brief} (timeout ${step.timeout})`;
      return step.description ? `${who}: ${step.description}` : who;
    }
  }
}
