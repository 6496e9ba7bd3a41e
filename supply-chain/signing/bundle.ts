/**
 * Signing an in-toto statement into a Sigstore bundle (v0.3, DSSE envelope) with a local key,
 * and verifying such a bundle offline against trusted public keys.
 *
 * No Fulcio certificate, no Rekor entry, no timestamp authority: the bundle's verification
 * material is the public key's hint (key id), and the @sigstore/verify `Verifier` runs with
 * every threshold at 0 over trust material that holds only our keys. `sigstore.verify()` is not
 * used because it fetches the public-good trust root over the network.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import {
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  bundleFromJSON,
  bundleToJSON,
  type SerializedBundle,
} from '@sigstore/bundle';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import { type TrustMaterial, toSignedEntity, Verifier } from '@sigstore/verify';
import { canonicalPublicKeyPem, keyIdOf, loadPrivateKey, loadPublicKey, shortKeyId } from './keys.ts';
import { IN_TOTO_PAYLOAD_TYPE, type InTotoStatement, parseInTotoStatement } from './statement.ts';

export type { SerializedBundle } from '@sigstore/bundle';

/** A public key the verifier accepts signatures from, under a name people recognise. */
export interface TrustedKey {
  name: string;
  keyId: string;
  key: KeyObject;
}

/** The outcome of checking one bundle against the trusted keys. */
export type BundleVerification =
  | { ok: true; keyName: string; keyId: string; statement: InTotoStatement }
  | {
      ok: false;
      /** The key id the bundle names (its hint), when it names one. */
      keyId: string | null;
      /** The trusted key the bundle names, when it names one; null for an untrusted key. */
      keyName: string | null;
      reason: string;
    };

/** A bundle that does not verify; the message says why, for a person. */
export class SignatureVerificationError extends Error {
  override name = 'SignatureVerificationError';
}

/** Largest bundle read: a model with many thousands of files still fits easily. */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

/**
 * Signs an in-toto Statement v1 with an ECDSA P-256 private key (PEM) and returns the Sigstore
 * bundle as JSON-ready data: write it with `JSON.stringify(bundle, null, 2)`.
 */
export async function signStatement(statement: object, privateKeyPem: string): Promise<SerializedBundle> {
  const parsed = parseInTotoStatement(statement);
  if (!parsed.ok) throw new Error(`not an in-toto Statement v1: ${parsed.errors.join('; ')}`);
  const privateKey = loadPrivateKey(privateKeyPem);
  const signer: Signer = {
    // ECDSA over SHA-256, DER-encoded: what Sigstore and model_signing produce for P-256.
    sign: async (data) => ({
      signature: cryptoSign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey: canonicalPublicKeyPem(privateKey), hint: keyIdOf(privateKey) },
    }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const payload = Buffer.from(`${JSON.stringify(parsed.statement, null, 2)}\n`, 'utf8');
  const bundle = await builder.create({ data: payload, type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}

/** A bundle as it is written to a `.sig` file: indented JSON with a final newline. */
export function bundleToJsonText(bundle: SerializedBundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

/**
 * Verifies a bundle (JSON text or parsed) against one public key (PEM) and returns the signed
 * statement; throws `SignatureVerificationError` saying what is wrong.
 */
export function verifyStatementBundle(bundleJson: string | object, publicKeyPem: string): InTotoStatement {
  const key = loadPublicKey(publicKeyPem);
  const result = verifyBundleWithTrustedKeys(bundleJson, [{ name: 'given key', keyId: keyIdOf(key), key }]);
  if (!result.ok) throw new SignatureVerificationError(result.reason);
  return result.statement;
}

/**
 * Verifies a bundle against a set of trusted keys. The bundle's hint picks the key (a hint no
 * trusted key has means an untrusted signer); a bundle without a hint (model_signing before
 * 1.0) is tried against every trusted key.
 */
export function verifyBundleWithTrustedKeys(
  bundleJson: string | object,
  trustedKeys: readonly TrustedKey[],
): BundleVerification {
  const unverified = (reason: string, keyId: string | null = null, keyName: string | null = null) =>
    ({ ok: false, keyId, keyName, reason }) as const;

  const read = readBundle(bundleJson);
  if ('reason' in read) return unverified(read.reason);
  const { bundle } = read;
  const material = bundle.verificationMaterial.content;
  if (material.$case !== 'publicKey') {
    return unverified(
      'signed with a certificate (keyless Sigstore signing); modelship verifies local-key signatures only',
    );
  }
  if (bundle.verificationMaterial.tlogEntries.length > 0) {
    return unverified('carries transparency-log entries; modelship verifies offline local-key bundles only');
  }
  if (bundle.content.$case !== 'dsseEnvelope') return unverified('not a DSSE bundle (a message signature)');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.signatures.length !== 1) {
    return unverified(`the DSSE envelope holds ${envelope.signatures.length} signatures; expected exactly 1`);
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return unverified(`DSSE payloadType is "${envelope.payloadType}", expected "${IN_TOTO_PAYLOAD_TYPE}"`);
  }

  const hint = material.publicKey.hint;
  const candidates = hint ? trustedKeys.filter((k) => k.keyId === hint) : trustedKeys;
  if (candidates.length === 0) {
    const trusted =
      trustedKeys.map((k) => `"${k.name}" ${shortKeyId(k.keyId)}`).join(', ') || 'none configured';
    return unverified(
      hint
        ? `signed by untrusted key ${hint} (trusted keys: ${trusted})`
        : 'the bundle names no key and no trusted key is configured',
      hint || null,
    );
  }

  for (const candidate of candidates) {
    if (!signatureVerifies(bundle, candidate.key)) continue;
    let payload: unknown;
    try {
      payload = JSON.parse(envelope.payload.toString('utf8'));
    } catch {
      return unverified('the signed payload is not JSON', candidate.keyId, candidate.name);
    }
    const statement = parseInTotoStatement(payload);
    if (!statement.ok) {
      return unverified(
        `the signed payload is not an in-toto Statement v1: ${statement.errors.join('; ')}`,
        candidate.keyId,
        candidate.name,
      );
    }
    return { ok: true, keyName: candidate.name, keyId: candidate.keyId, statement: statement.statement };
  }
  const only = candidates.length === 1 ? candidates[0] : undefined;
  return unverified(
    only
      ? `the signature does not verify with trusted key "${only.name}" (${shortKeyId(only.keyId)}): the signed payload or the signature was altered`
      : 'the signature does not verify with any trusted key: the signed payload or the signature was altered',
    only?.keyId ?? null,
    only?.name ?? null,
  );
}

function readBundle(bundleJson: string | object): { bundle: Bundle } | { reason: string } {
  let value: unknown = bundleJson;
  if (typeof bundleJson === 'string') {
    if (Buffer.byteLength(bundleJson) > MAX_BUNDLE_BYTES) {
      return { reason: `larger than ${MAX_BUNDLE_BYTES} bytes; not a signature bundle` };
    }
    try {
      value = JSON.parse(bundleJson);
    } catch (error) {
      return { reason: `not JSON (${(error as Error).message})` };
    }
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(value);
  } catch (error) {
    return { reason: `not a valid Sigstore bundle (${(error as Error).message})` };
  }
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE) {
    return { reason: `bundle mediaType is "${bundle.mediaType}", expected "${BUNDLE_V03_MEDIA_TYPE}"` };
  }
  return { bundle };
}

/** The @sigstore/verify checks, offline: trust material holding this one key and nothing else. */
function signatureVerifies(bundle: Bundle, key: KeyObject): boolean {
  const trust: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundle));
    return true;
  } catch {
    // VerificationError, or a malformed timestamp / tlog entry the bundle carried: either way
    // this key does not vouch for this bundle.
    return false;
  }
}
