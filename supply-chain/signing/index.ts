/**
 * Offline model signing compatible with OpenSSF Model Signing v1.0 (the `model_signing` Python
 * package): Sigstore bundles holding a DSSE-wrapped in-toto statement, signed with a local
 * ECDSA P-256 key. No Fulcio, no Rekor, no network.
 */
export {
  type BundleVerification,
  bundleToJsonText,
  type SerializedBundle,
  SignatureVerificationError,
  signStatement,
  type TrustedKey,
  verifyBundleWithTrustedKeys,
  verifyStatementBundle,
} from './bundle.ts';
export {
  generateSigningKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  SigningKeyError,
  type SigningKeyPair,
} from './keys.ts';
export {
  digestModelDirectory,
  isSignatureFileName,
  type ModelDirectoryDigest,
  ModelDirectoryError,
  type ModelFileDigest,
} from './model-digest.ts';
export {
  buildModelSignatureStatement,
  MODEL_SIGNATURE_PREDICATE_TYPE,
  parseModelSignatureStatement,
  type SignedModelManifest,
} from './model-statement.ts';
export {
  DEFAULT_SIGNATURE_NAME,
  type SignModelInput,
  type SignModelResult,
  signModel,
} from './sign-model.ts';
export {
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  type InTotoStatement,
  parseInTotoStatement,
} from './statement.ts';
export {
  type ModelSignatureReport,
  type SignatureCheck,
  type SignatureFinding,
  type VerifyModelSignaturesInput,
  verifyModelSignatures,
} from './verify-model.ts';
