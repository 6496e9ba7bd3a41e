/**
 * The one error type of `oci/`. Its `kind` is what a caller acts on; its message says where
 * (which store, repository and digest or tag) and, for a registry, the HTTP status and the
 * registry's own error codes, so a failed push or pull reads well in an audit log as it is.
 *
 * Kinds: `not-found` (the blob, manifest or repository is not there), `unauthorized` (no or wrong
 * credentials, or no permission), `refused` (the store answered a request with a client error
 * that trying again will not change), `invalid` (content of the wrong shape: a manifest that is
 * not JSON or not an OCI manifest, a hostile layer title, a tag where a digest is required),
 * `digest-mismatch` (bytes that do not hash to the digest that named them), `too-large` (over a
 * size limit) and `transient` (network trouble, timeouts, 429 and 5xx: the only retryable one).
 */

export type OciErrorKind =
  | 'not-found'
  | 'unauthorized'
  | 'refused'
  | 'invalid'
  | 'digest-mismatch'
  | 'too-large'
  | 'transient';

/** One entry of a registry's JSON error body (`{"errors": [{code, message, detail}]}`). */
export interface RegistryErrorCode {
  code: string;
  message: string;
}

/** Why an OCI store operation failed; `retryable` says whether trying again later can help. */
export class OciError extends Error {
  override readonly name = 'OciError';
  readonly kind: OciErrorKind;
  /** The HTTP status, for errors a registry answered. */
  readonly status: number | undefined;
  /** The registry's error codes (`BLOB_UNKNOWN`, `DENIED`, ...), for errors a registry answered. */
  readonly codes: readonly RegistryErrorCode[];

  constructor(
    kind: OciErrorKind,
    message: string,
    details: { status?: number; codes?: readonly RegistryErrorCode[]; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    this.codes = details.codes ?? [];
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

/** Whether `error` is an `OciError` of `kind`. */
export function isOciError(error: unknown, kind?: OciErrorKind): error is OciError {
  return error instanceof OciError && (kind === undefined || error.kind === kind);
}
