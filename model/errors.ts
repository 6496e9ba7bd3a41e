/**
 * The model library's failures: plain errors with a kind from a closed list, so that callers
 * decide what they mean. The activities translate them into Temporal's non-retryable failures
 * (`activities/failures.ts`); the CLI and `plan` print them. Anything else the library throws
 * (an fs error, a bug) is not the model's fault and stays an ordinary error.
 */

/** Why a model cannot be used; the names match the domain failure types they become. */
export const ModelErrorKind = {
  /** The spec asks for something the model or its holdout cannot give (e.g. an output it lacks). */
  InvalidSpec: 'InvalidSpec',
  /** The holdout data cannot drive the model's input (wrong width, bad rows). */
  InvalidHoldout: 'InvalidHoldout',
  /** The model's inputs or outputs differ from the spec's interface. */
  InterfaceMismatch: 'InterfaceMismatch',
  /** onnxruntime cannot load or run the model, or its process was killed at a limit. */
  ModelUnloadable: 'ModelUnloadable',
} as const;

export type ModelErrorKind = (typeof ModelErrorKind)[keyof typeof ModelErrorKind];

/** A model-caused failure; `details` is one JSON value for reports (e.g. the mismatches). */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
