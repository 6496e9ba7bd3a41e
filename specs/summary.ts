/**
 * One-line descriptions of a parsed spec, for `modelship validate` and plans:
 * `iris → staging: models/iris/v2/model.onnx (sha256 1a2b3c4d…), 3 steps (shadow 10m, 10%, 100%)`.
 */
import type { ModelDeployment } from './schema.ts';
import { describeStep } from './steps.ts';

/** What the spec deploys, where, and through which steps, on one line. */
export function summarizeSpec(spec: ModelDeployment): string {
  const { steps } = spec.spec.rollout;
  const count = `${steps.length} ${steps.length === 1 ? 'step' : 'steps'}`;
  return (
    `${spec.metadata.name} → ${spec.spec.rollout.environment}: ` +
    `${spec.spec.model.source} (sha256 ${spec.spec.model.sha256.slice(0, 8)}…), ` +
    `${count} (${steps.map((step) => describeStep(step, 'compact')).join(', ')})`
  );
}
