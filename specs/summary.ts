/**
 * One-line descriptions of a parsed spec, for `modelship validate` and plans:
 * `iris → staging: models/iris/v2/model.onnx (sha256 1a2b3c4d…), 3 steps (shadow 10m, 10%, 100%)`.
 */
import type { ModelDeployment, Step } from './schema.ts';

/** What the spec deploys, where, and through which steps, on one line. */
export function summarizeSpec(spec: ModelDeployment): string {
  const { steps } = spec.spec.rollout;
  const count = `${steps.length} ${steps.length === 1 ? 'step' : 'steps'}`;
  return (
    `${spec.metadata.name} → ${spec.spec.rollout.environment}: ` +
    `${spec.spec.model.source} (sha256 ${spec.spec.model.sha256.slice(0, 8)}…), ` +
    `${count} (${steps.map(summarizeStep).join(', ')})`
  );
}

/** A step in a few words: `shadow 10m`, `25%`, `pause 5m`, `analysis 5m`, `approval by alice or bob`. */
function summarizeStep(step: Step): string {
  switch (step.type) {
    case 'shadow':
      return `shadow ${step.duration}`;
    case 'setWeight':
      return `${step.weight}%`;
    case 'pause':
      return `pause ${step.duration}`;
    case 'analysis':
      return `analysis ${step.duration}`;
    case 'approval':
      return `approval by ${step.approvers.join(' or ')}`;
  }
}
