/**
 * The stages of a DeployModel run, in order: what the workflow moves through, what the
 * `RolloutStage` search attribute and the `status` query say, and what clients (`apply`'s
 * progress, superseding) reason about. One list, with its groups, for both sides.
 */
const PIPELINE_STAGES = [
  'resolving',
  'scanning',
  'validating',
  'packaging',
  'loading',
  'shadow',
  'canary',
  'paused',
  'analysis',
  'awaiting-approval',
  'promoting',
  'promoted',
  'rolling-back',
  'serving',
  'rolled-back',
  'rejected',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** Before the data plane serves the candidate: cancelling undoes nothing. */
export const BEFORE_TRAFFIC_STAGES: readonly PipelineStage[] = [
  'resolving',
  'scanning',
  'validating',
  'packaging',
  'loading',
];

/** A rollout step is running: each is one spec step, and cancelling rolls back. */
export const STEP_STAGES: readonly PipelineStage[] = [
  'shadow',
  'canary',
  'paused',
  'analysis',
  'awaiting-approval',
];

/** True when `stage` (a string from a query or a search attribute) is one of `stages`. */
export function isStageIn(stages: readonly PipelineStage[], stage: string | undefined): boolean {
  return stage !== undefined && (stages as readonly string[]).includes(stage);
}
