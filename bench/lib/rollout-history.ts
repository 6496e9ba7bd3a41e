/**
 * How long a finished DeployModel run spent on its rollout steps, read from its Temporal event
 * history: the server's own timestamps, so the client's polling and this process's load do not
 * enter the figures.
 *
 * A `setWeight` step is two activities in a row: the `stage.entered` audit record
 * (`recordDecision`, from `run.enter('canary')`) and `setCandidateWeight`. The step starts when
 * the workflow had its reason to begin it, the `WorkflowTaskScheduled` event before the workflow
 * task that scheduled the audit record (the previous step's last activity completing, the data
 * plane load completing, an approval arriving), and ends when `setCandidateWeight` completes. So a
 * step's time holds everything the engine does for it: both workflow tasks, both activities, the
 * queueing of each on the task queue, and the routing change on the data plane.
 */
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

const { EventType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

interface ActivityTimes {
  type: string;
  /** When the workflow task that scheduled it was itself scheduled: what it reacted to. */
  triggeredAtMs: number;
  scheduledAtMs: number;
  startedAtMs?: number;
  completedAtMs?: number;
}

/**
 * One `setWeight` step. `ms` splits into the time its two activities waited on the task queue
 * (`queuedMs`), the time they ran (`runningMs`), and the rest (`workflowMs`): the two workflow
 * tasks, from being scheduled to being completed, queueing on the worker included.
 */
export interface StepTimes {
  weight: number;
  startMs: number;
  endMs: number;
  ms: number;
  queuedMs: number;
  runningMs: number;
  workflowMs: number;
  /** `setCandidateWeight` from being scheduled to completing: the routing change as the engine sees it. */
  scheduleToCloseMs: number;
}

export interface RolloutTimes {
  /** One entry per `setWeight` step, in order. */
  steps: StepTimes[];
  /** From the first step's start to `promoteCandidate` completing (the candidate is stable). */
  toPromotionMs: number;
  /** The promotion itself: `stage.entered promoting` audit plus `promoteCandidate`. */
  promotionMs: number;
  /** When the run started, the first step started and the promotion completed (epoch ms, server clock). */
  workflowStartedMs: number;
  startMs: number;
  promotedMs: number;
}

function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/** Every activity of the history in the order it was scheduled, with its times. */
function activitiesOf(events: HistoryEvent[]): ActivityTimes[] {
  const byScheduledId = new Map<number, ActivityTimes>();
  const ordered: ActivityTimes[] = [];
  let lastTaskScheduledMs = Number.NaN;
  for (const event of events) {
    const at = eventMs(event);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        lastTaskScheduledMs = at;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const activity = {
          type: event.activityTaskScheduledEventAttributes?.activityType?.name ?? '',
          triggeredAtMs: lastTaskScheduledMs,
          scheduledAtMs: at,
        };
        byScheduledId.set(Number(event.eventId), activity);
        ordered.push(activity);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const activity = byScheduledId.get(
          Number(event.activityTaskStartedEventAttributes?.scheduledEventId),
        );
        if (activity) activity.startedAtMs = at;
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const activity = byScheduledId.get(
          Number(event.activityTaskCompletedEventAttributes?.scheduledEventId),
        );
        if (activity) activity.completedAtMs = at;
        break;
      }
    }
  }
  return ordered;
}

/** The audit record scheduled just before `activities[index]`: the stage it entered for it. */
function stageRecordBefore(activities: ActivityTimes[], index: number): ActivityTimes {
  const record = activities[index - 1];
  if (record?.type !== 'recordDecision') {
    throw new Error(
      `expected the stage audit record before ${activities[index]?.type}, found ${record?.type}`,
    );
  }
  return record;
}

/** How long the activity waited on the task queue for a worker slot (its last attempt's start). */
function queued(activity: ActivityTimes): number {
  return (activity.startedAtMs ?? Number.NaN) - activity.scheduledAtMs;
}

function running(activity: ActivityTimes): number {
  return completedAt(activity) - (activity.startedAtMs ?? Number.NaN);
}

function completedAt(activity: ActivityTimes): number {
  if (activity.completedAtMs === undefined) throw new Error(`${activity.type} never completed`);
  return activity.completedAtMs;
}

/**
 * The step and promotion times of a promoted run; `weights` are its `setWeight` steps in order,
 * matched to the `setCandidateWeight` activities (the history does not say which weight each set
 * without decoding the inputs, and a promoted run set each exactly once).
 */
export function rolloutTimesOf(events: HistoryEvent[], weights: number[]): RolloutTimes {
  const activities = activitiesOf(events);
  const stepIndexes = activities.flatMap((activity, index) =>
    activity.type === 'setCandidateWeight' ? [index] : [],
  );
  if (stepIndexes.length !== weights.length) {
    throw new Error(`expected ${weights.length} setCandidateWeight activities, found ${stepIndexes.length}`);
  }
  const steps = stepIndexes.map((index, step): StepTimes => {
    const weightChange = activities[index] as ActivityTimes;
    const record = stageRecordBefore(activities, index);
    const startMs = record.triggeredAtMs;
    const endMs = completedAt(weightChange);
    const queuedMs = queued(record) + queued(weightChange);
    const runningMs = running(record) + running(weightChange);
    return {
      weight: weights[step] ?? Number.NaN,
      startMs,
      endMs,
      ms: endMs - startMs,
      queuedMs,
      runningMs,
      workflowMs: endMs - startMs - queuedMs - runningMs,
      scheduleToCloseMs: endMs - weightChange.scheduledAtMs,
    };
  });
  const promoteIndex = activities.findIndex((activity) => activity.type === 'promoteCandidate');
  if (promoteIndex < 0) throw new Error('the run has no promoteCandidate activity: it was not promoted');
  const promotedMs = completedAt(activities[promoteIndex] as ActivityTimes);
  const startMs = steps[0]?.startMs ?? Number.NaN;
  return {
    steps,
    workflowStartedMs: events[0] ? eventMs(events[0]) : Number.NaN,
    toPromotionMs: promotedMs - startMs,
    promotionMs: promotedMs - stageRecordBefore(activities, promoteIndex).triggeredAtMs,
    startMs,
    promotedMs,
  };
}

/** Fetches a finished run's history and reads its rollout times. */
export async function rolloutTimes(handle: WorkflowHandle, weights: number[]): Promise<RolloutTimes> {
  const history = await handle.fetchHistory();
  return rolloutTimesOf(history.events ?? [], weights);
}
