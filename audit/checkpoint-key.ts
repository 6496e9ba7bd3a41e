/**
 * The Ed25519 key that signs audit checkpoints, and the public key verify trusts.
 *
 * The writer keeps its key in `<home>/keys/audit-checkpoint.key`, created on first use with
 * `audit-checkpoint.pub` beside it, as the evidence key is (so `modelship dev` needs no setup).
 * It is a key of its own, not the evidence key: a checkpoint signature must not be usable as
 * evidence or the reverse, and the two may be guarded differently. Ed25519 because it signs in
 * microseconds with node:crypto alone and its signatures are deterministic.
 *
 * The protection lasts only while the key is out of reach of whoever can write the log: a
 * PostgreSQL log with the worker's home on another machine is the case it is made for; with
 * the default SQLite file, key and log share the home directory (see `checkpoint.ts`).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hasErrorCode, sha256Hex } from '../model/files.ts';
import type { CheckpointSigner } from './checkpoint.ts';
import { AuditStoreError } from './store.ts';

/** The signing key's file under MODELSHIP_HOME; the public key is the same name with `.pub`. */
export function checkpointKeyPath(home: string): string {
  return join(home, 'keys', 'audit-checkpoint.key');
}

/** The public key file beside a private key file. */
export function publicKeyPathOf(privateKeyPath: string): string {
  return `${privateKeyPath.replace(/\.key$/, '')}.pub`;
}

/** A signing key, loaded. */
export interface CheckpointKey extends CheckpointSigner {
  /** Where it was read from, for messages. */
  path: string;
}

/** A public key verify checks signatures with. */
export interface TrustedKey {
  publicKey: KeyObject;
  keyId: string;
  /** Where it was read from, for the report. */
  path: string;
}

/** Hex SHA-256 of the public key's SubjectPublicKeyInfo PEM: the key id convention of `modelship keygen`. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(publicKey.export({ type: 'spki', format: 'pem' }).toString());
}

/**
 * Loads the signing key at `path`, creating it when it does not exist yet, and writes its public
 * key beside it (`.pub`) unless one is there. Two writers starting at once end up with the same
 * key: the file is created exclusively and read back.
 */
export async function loadOrCreateCheckpointKey(path: string): Promise<CheckpointKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    if (!hasErrorCode(error, 'ENOENT')) {
      throw new AuditStoreError(`cannot read the audit checkpoint key ${path}: ${(error as Error).message}`);
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), {
      mode: 0o600,
      flag: 'wx',
    }).catch((writeError: unknown) => {
      if (!hasErrorCode(writeError, 'EEXIST')) throw writeError;
    });
    pem = await readFile(path, 'utf8');
  }
  const privateKey = parseKey(pem, path, 'private');
  // Never overwrites: a `.pub` someone put there on purpose (or replaced) stays for verify to
  // judge. One that cannot be written (a read-only key directory) is reported by verify instead.
  await writeFile(
    publicKeyPathOf(path),
    createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    { flag: 'wx' },
  ).catch(() => undefined);
  return { privateKey, keyId: keyIdOf(privateKey), path };
}

/**
 * Reads the public key verify trusts. A private key file is accepted too (its public half is
 * used), so an operator can point at whichever file they hold.
 */
export async function loadTrustedKey(path: string): Promise<TrustedKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new AuditStoreError(
      hasErrorCode(error, 'ENOENT')
        ? `no public key at ${path} to check checkpoint signatures with`
        : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
  const kind = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) ? 'private' : 'public';
  const key = parseKey(pem, path, kind);
  const publicKey = kind === 'private' ? createPublicKey(key) : key;
  return { publicKey, keyId: keyIdOf(publicKey), path };
}

function parseKey(pem: string, path: string, kind: 'private' | 'public'): KeyObject {
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    throw new AuditStoreError(`${path} is not a readable PEM ${kind} key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditStoreError(`${path} holds a ${key.asymmetricKeyType} key; audit checkpoints use Ed25519`);
  }
  return key;
}
