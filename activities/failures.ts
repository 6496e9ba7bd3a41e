/**
 * Raising domain failures from activities, and translating the model library's typed errors into
 * them; the closed list of types is in `domain/failure-types.ts`.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { FailureType } from '../domain/failure-types.ts';
import { ModelError } from '../model/errors.ts';

export { FailureType } from '../domain/failure-types.ts';

/**
 * A non-retryable domain failure; `details` (one JSON value, e.g. the validation report) become
 * readable in the Web UI and in the audit log.
 */
export function domainFailure(type: FailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
  });
}

/**
 * The activity-side meaning of an error from the model library: a {@link ModelError} is the
 * model's fault, so it becomes a non-retryable domain failure of the same kind; anything else
 * is returned unchanged and retries as infrastructure trouble.
 */
export function asDomainFailure(error: unknown): unknown {
  if (error instanceof ModelError) return domainFailure(error.kind, error.message, error.details);
  return error;
}
