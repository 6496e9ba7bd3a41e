/**
 * What `apply` does with one valid spec, given the latest DeployModel run for its model and
 * environment. Pure, so every case is unit-tested without Temporal; `apply.ts` only observes,
 * decides and acts.
 *
 * | latest run                                            | decision                       |
 * | ----------------------------------------------------- | ------------------------------ |
 * | running, same commit and spec digest                  | nothing: already rolling out   |
 * | running, anything else                                | supersede: cancel, wait, start |
 * | closed, same digest, serving / promoted / loaded      | nothing: already deployed      |
 * | closed, same digest, rolled-back / rejected           | refuse: say so, start nothing  |
 * | none, or closed otherwise (other digest, failed, …)   | start                          |
 */

/** The spec `apply` would deploy: the head commit and the digest of the spec's text there. */
export interface ApplyTarget {
  commit: string;
  specDigest: string;
}

/** The latest run of a deployment's workflow id, as far as `apply` needs it. */
export type ObservedRun =
  | {
      state: 'running';
      runId: string;
      /** From the run's memo; absent for runs started by older versions. */
      commit?: string;
      specDigest?: string;
    }
  | {
      state: 'closed';
      runId: string;
      /** Temporal's close status: COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, … */
      status: string;
      commit?: string;
      specDigest?: string;
      /** `DeployModelResult.outcome`, for completed runs. */
      outcome?: string;
      /** Why it ended as it did, from the result (rollback reason, rejection, summary). */
      reason?: string;
    };

export type ApplyDecision =
  | { action: 'none'; why: 'rolling-out' | 'deployed' }
  | { action: 'refuse'; why: 'rolled-back' | 'rejected' }
  | { action: 'supersede' }
  | { action: 'start'; why: 'first' | 'changed' | 'retry' | 'not-served' };

/** Outcomes after which the spec's version is on the data plane. */
const DEPLOYED: ReadonlySet<string> = new Set(['serving', 'promoted', 'loaded']);

/** Whether a DeployModel outcome left the spec's version on the data plane. */
export function isDeployedOutcome(outcome: string): boolean {
  return DEPLOYED.has(outcome);
}

/** Decides for one spec; `latest` is undefined when the workflow id never ran. */
export function decideApply(target: ApplyTarget, latest: ObservedRun | undefined): ApplyDecision {
  if (latest === undefined) return { action: 'start', why: 'first' };
  const sameSpec = latest.specDigest === target.specDigest;
  if (latest.state === 'running') {
    return sameSpec && latest.commit === target.commit
      ? { action: 'none', why: 'rolling-out' }
      : { action: 'supersede' };
  }
  if (!sameSpec) return { action: 'start', why: 'changed' };
  if (latest.outcome !== undefined && isDeployedOutcome(latest.outcome))
    return { action: 'none', why: 'deployed' };
  // Git still says the version that was rolled back or refused: deploying it again would repeat
  // the failure, so it waits for a change to the spec.
  if (latest.outcome === 'rolled-back') return { action: 'refuse', why: 'rolled-back' };
  if (latest.outcome === 'rejected') return { action: 'refuse', why: 'rejected' };
  // Superseded before its successor started, failed, terminated, timed out: try again.
  return { action: 'start', why: 'retry' };
}
