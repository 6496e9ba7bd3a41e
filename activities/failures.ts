/** Raising domain failures from activities; the list of types is in `failure-types.ts`. */
import { ApplicationFailure } from '@temporalio/common';
import type { FailureType } from './failure-types.ts';

export { DOMAIN_FAILURE_TYPES, FailureType, isDomainFailureType } from './failure-types.ts';

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
