/**
 * ECDSA P-256 signing keys as PEM text, and the key id that names a public key in a signature.
 *
 * The key id follows the OpenSSF `model_signing` package: the hex SHA-256 of the public key's
 * SubjectPublicKeyInfo PEM text (64-column base64, trailing newline), which `model_signing`
 * writes as `verificationMaterial.publicKey.hint` and checks against the key it is given.
 * We re-export the key before hashing, so line endings or extra text around the PEM block in a
 * `.pub` file do not change its id.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../model/files.ts';

/** A freshly generated key pair, as it is written to `<name>.key` and `<name>.pub`. */
export interface SigningKeyPair {
  /** PKCS#8 PEM, unencrypted: keep it out of Git and readable by its owner only. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM, safe to publish and to commit as a trusted key. */
  publicKeyPem: string;
  /** Hex SHA-256 of `publicKeyPem` (see the module comment). */
  keyId: string;
}

/** A PEM text that is not an ECDSA P-256 key of the expected kind. */
export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

/** Generates an ECDSA P-256 key pair, the curve Sigstore and `model_signing` both accept. */
export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPem = canonicalPublicKeyPem(publicKey);
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem,
    keyId: sha256Hex(publicKeyPem),
  };
}

/** Parses a private key PEM (PKCS#8 or SEC1), refusing anything but an unencrypted P-256 key. */
export function loadPrivateKey(pem: string, source = 'private key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new SigningKeyError(`${source}: not a readable unencrypted PEM private key (${firstLine(error)})`);
  }
  assertP256(key, source);
  return key;
}

/** Parses a public key PEM, refusing anything but a P-256 key. A private key PEM is refused too. */
export function loadPublicKey(pem: string, source = 'public key'): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new SigningKeyError(`${source}: this is a private key; give the public key (.pub) instead`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new SigningKeyError(`${source}: not a readable PEM public key (${firstLine(error)})`);
  }
  assertP256(key, source);
  return key;
}

/** The key id of a public (or private: its public half) key. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(canonicalPublicKeyPem(publicKey));
}

/** The SubjectPublicKeyInfo PEM of a key, as OpenSSL and Python's `cryptography` write it. */
export function canonicalPublicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** The first characters of a key id, enough to tell keys apart in messages. */
export function shortKeyId(keyId: string): string {
  return keyId.length > 16 ? `${keyId.slice(0, 16)}…` : keyId;
}

function assertP256(key: KeyObject, source: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const kind =
      key.asymmetricKeyType === 'ec' ? `an EC key on curve ${curve}` : `a ${key.asymmetricKeyType} key`;
    throw new SigningKeyError(`${source}: ${kind}; only ECDSA P-256 keys are supported`);
  }
}

function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split('\n')[0] ?? '';
}
