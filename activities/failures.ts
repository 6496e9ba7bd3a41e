/**
 * The closed list of domain failure types. A domain failure means retrying cannot help (the
 * bytes are wrong, the model misses its thresholds); it is raised as a non-retryable
 * `ApplicationFailure` whose `type` is one of these. Anything else thrown by an activity is
 * treated as infrastructure trouble and retried by its policy.
 */
import { ApplicationFailure } from '@temporalio/common';

export const FailureType = {
  /** The spec does not parse or breaks a rule. */
  InvalidSpec: 'InvalidSpec',
  /** The model file (or another referenced file) does not exist where the spec says. */
  ArtifactNotFound: 'ArtifactNotFound',
  /** The bytes found do not match the digest pinned in the spec. */
  DigestMismatch: 'DigestMismatch',
  /** The artifact source uses a scheme modelship cannot fetch. */
  UnsupportedSource: 'UnsupportedSource',
  /** The model's inputs or outputs differ from `spec.interface`. */
  InterfaceMismatch: 'InterfaceMismatch',
  /** The model runs but misses a metric threshold of `spec.validation`. */
  ValidationFailed: 'ValidationFailed',
  /** The model cannot be loaded or run at all. */
  ModelUnloadable: 'ModelUnloadable',
  /** A security or structure check of the scan step failed. */
  ScanFailed: 'ScanFailed',
  /** Packaging found an existing bundle with other content under the same digest. */
  BundleConflict: 'BundleConflict',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Every domain failure type; the workflow's retry policies list these as non-retryable. */
export const DOMAIN_FAILURE_TYPES: FailureType[] = Object.values(FailureType);

/** Raises a non-retryable domain failure; `details` become readable in the Web UI and the audit. */
export function domainFailure(type: FailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
  });
}
