/**
 * What cancelling a running DeployModel does, by the stage it was last seen in, for `apply`'s
 * messages when it supersedes or retires (pure). The workflow decides by where it is: before any
 * traffic moved there is nothing to undo; during the rollout's steps it rolls back to stable;
 * once promoted, the promotion stands and only the post-promotion wait (after which the previous
 * version is unloaded) is cut short.
 */
import { BEFORE_TRAFFIC_STAGES, isStageIn, STEP_STAGES } from '../domain/stages.ts';

/** One clause: what the cancelled run does before it closes; `stage` undefined when unknown. */
export function cancelEffect(stage: string | undefined): string {
  if (stage === 'promoted') {
    return 'it had already promoted its version (post-promotion window): the promotion stands and nothing rolls back; the previous version is left loaded instead of being unloaded at the end of the window';
  }
  if (isStageIn(BEFORE_TRAFFIC_STAGES, stage)) {
    return `it is stopped while ${stage}, before any traffic moved`;
  }
  if (isStageIn(STEP_STAGES, stage) || stage === 'promoting') {
    return `it rolls back first (it was at ${stage}): stable gets all traffic again, the candidate is unloaded`;
  }
  return 'if it is past loading, it rolls back first unless it had already promoted';
}
