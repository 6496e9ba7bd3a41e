/**
 * What to tell a person about an error that reached the workflow. An activity's failure arrives
 * wrapped ("Activity task failed"); the reason worth auditing is its cause's message.
 */
import { ActivityFailure } from '@temporalio/workflow';

export function failureText(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) {
    const cause = error.cause;
    return `${cause.name === 'ApplicationFailure' ? '' : `${cause.name}: `}${cause.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
