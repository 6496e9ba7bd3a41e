/**
 * The key the worker signs its evidence with (the bundle's CycloneDX description and SLSA
 * provenance): `MODELSHIP_EVIDENCE_KEY` names a PEM private key; without it the worker keeps one
 * under `<home>/keys/evidence.key`, created on first use (with `evidence.pub` beside it, the file
 * to give whoever verifies the evidence). A production worker should be given its key, so that
 * the evidence outlives the machine.
 */
import { createPublicKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasErrorCode } from '../model/files.ts';
import { generateSigningKeyPair, keyIdOf, loadPrivateKey } from '../supply-chain/signing/index.ts';

export interface EvidenceKey {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
  /** Where it came from, for the manifest and for people. */
  path: string;
}

/** Loads the configured key, or the home's own key (creating it once). */
export async function loadEvidenceKey(options: { home: string; keyPath?: string }): Promise<EvidenceKey> {
  const path = options.keyPath ?? join(options.home, 'keys', 'evidence.key');
  let privateKeyPem: string;
  try {
    privateKeyPem = await readFile(path, 'utf8');
  } catch (error) {
    if (!hasErrorCode(error, 'ENOENT') || options.keyPath !== undefined) {
      throw new Error(`cannot read the evidence signing key ${path}: ${(error as Error).message}`);
    }
    const pair = generateSigningKeyPair();
    await mkdir(join(options.home, 'keys'), { recursive: true, mode: 0o700 });
    // `wx`: two workers starting at once must not overwrite each other's key.
    await writeFile(path, pair.privateKeyPem, { mode: 0o600, flag: 'wx' }).catch((writeError: unknown) => {
      if (!hasErrorCode(writeError, 'EEXIST')) throw writeError;
    });
    await writeFile(join(options.home, 'keys', 'evidence.pub'), pair.publicKeyPem).catch(() => undefined);
    privateKeyPem = await readFile(path, 'utf8');
  }
  const key = loadPrivateKey(privateKeyPem, path);
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKeyPem, publicKeyPem, keyId: keyIdOf(key), path };
}
