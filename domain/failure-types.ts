/**
 * The closed list of domain failure types: pure constants with no imports, so the workflow
 * bundle may import this one file from `activities/` as a value (it lists them as
 * non-retryable). Everything else in `activities/` reaches workflows as types only.
 *
 * A domain failure means retrying cannot help (the bytes are wrong, the model misses its
 * thresholds). Anything else an activity throws is infrastructure trouble and is retried.
 */
export const FailureType = {
  /** The spec does not parse or breaks a rule. */
  InvalidSpec: 'InvalidSpec',
  /** The model file (or another referenced file) does not exist where the spec says. */
  ArtifactNotFound: 'ArtifactNotFound',
  /** The bytes found do not match the digest pinned in the spec. */
  DigestMismatch: 'DigestMismatch',
  /**
   * The repository the deployment names, or its commit, cannot be found where the worker fetches
   * from (a commit that was never pushed, a repository that does not exist or is not visible).
   */
  SourceNotFound: 'SourceNotFound',
  /** The model file is larger than the worker will download or copy (`MODELSHIP_MAX_ARTIFACT_BYTES`). */
  ArtifactTooLarge: 'ArtifactTooLarge',
  /**
   * The environment's OCI registry refused the bundle for a reason retrying cannot fix (a
   * repository it will not accept, content it calls invalid); a registry that is down retries.
   */
  RegistryRefused: 'RegistryRefused',
  /** The artifact source uses a scheme modelship cannot fetch. */
  UnsupportedSource: 'UnsupportedSource',
  /** The holdout CSV cannot be read as the model's input (bad rows, missing label column, wrong width). */
  InvalidHoldout: 'InvalidHoldout',
  /** The model's inputs or outputs differ from `spec.interface`. */
  InterfaceMismatch: 'InterfaceMismatch',
  /**
   * The holdout holds personal data (an email, a phone, card or national identifier) and the
   * environment's policy does not allow it (`privacy.holdout`): retrying reads the same file.
   */
  PersonalDataFound: 'PersonalDataFound',
  /** The model runs but misses a metric threshold of `spec.validation`. */
  ValidationFailed: 'ValidationFailed',
  /** The model cannot be loaded or run at all. */
  ModelUnloadable: 'ModelUnloadable',
  /** A security or structure check of the scan step failed. */
  ScanFailed: 'ScanFailed',
  /** The model directory's signatures are missing, invalid, untrusted or do not match its files. */
  SignatureInvalid: 'SignatureInvalid',
  /** A credential was found in the spec, the model's metadata or a file next to the model. */
  SecretFound: 'SecretFound',
  /** The environment's policy refuses the deployment, or cannot be read. */
  PolicyViolation: 'PolicyViolation',
  /** The environment requires a verified origin (who started the deployment) and none was proven. */
  OriginUnverified: 'OriginUnverified',
  /** The data plane refused a change as invalid (bad bundle, version name taken by other bytes). */
  DataPlaneRejected: 'DataPlaneRejected',
  /** Packaging found an existing bundle with other content under the same digest. */
  BundleConflict: 'BundleConflict',
  /**
   * A monitoring webhook (alert, retraining request) answered with a 4xx other than 408 or 429:
   * a wrong URL or token, which a retry cannot fix. The monitor records it and keeps watching.
   */
  WebhookRefused: 'WebhookRefused',
  /**
   * The model artifact was rolled back automatically (a failed canary verdict, or its monitor
   * below the accuracy floor) and nobody has lifted the quarantine since.
   */
  Quarantined: 'Quarantined',
  /** `spec.promotion` names an environment the artifact did not pass (not served, too short, verdicts missing). */
  PromotionRefused: 'PromotionRefused',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Every domain failure type; the workflow's retry policies list these as non-retryable. */
export const DOMAIN_FAILURE_TYPES: FailureType[] = Object.values(FailureType);

/** True when `type` (an `ApplicationFailure.type`) is one of ours. */
export function isDomainFailureType(type: string | undefined | null): type is FailureType {
  return type !== undefined && type !== null && (DOMAIN_FAILURE_TYPES as string[]).includes(type);
}
