/**
 * The running activity, seen from code that also runs outside one: heartbeats and cancellation
 * that are no-ops in unit tests and the CLI, and the model library's file primitives bound to
 * the heartbeat so that hashing or copying a large model keeps the activity alive.
 */
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { type FileDigest, sha256File, writeStreamHashing } from '../model/files.ts';

/**
 * The running activity's context, or undefined when the code runs outside an activity (unit
 * tests, the `modelship scan` CLI) so that the same functions work everywhere.
 */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Records a heartbeat when running inside an activity, and throws the cancellation if the
 * workflow cancelled us: cancellation only reaches activities through heartbeats, so long loops
 * call this to stay both alive and stoppable. A no-op outside an activity.
 */
export function heartbeat(details?: unknown): void {
  const context = activityContext();
  if (!context) return;
  context.heartbeat(details);
  if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
}

/** The activity's cancellation signal (for fetch), or undefined outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/** {@link sha256File} heartbeating while it reads. */
export function sha256FileHeartbeating(path: string): Promise<FileDigest> {
  return sha256File(path, heartbeat);
}

/** {@link writeStreamHashing} heartbeating while it writes. */
export function writeStreamHeartbeating(
  source: Readable,
  to: string,
  progressKey: string,
): Promise<FileDigest> {
  return writeStreamHashing(source, to, progressKey, heartbeat);
}
