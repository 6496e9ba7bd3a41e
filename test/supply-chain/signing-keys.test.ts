/** Signing keys: the curve we accept, and the key id model_signing also computes. */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  generateSigningKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
} from '../../supply-chain/signing/keys.ts';
import { repoPath } from '../support/paths.ts';

describe('signing keys', () => {
  it('generates P-256 pairs whose id is the SHA-256 of the public key PEM text', () => {
    const pair = generateSigningKeyPair();
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(pair.keyId).toBe(createHash('sha256').update(pair.publicKeyPem).digest('hex'));
    expect(keyIdOf(loadPrivateKey(pair.privateKeyPem))).toBe(pair.keyId);
    expect(generateSigningKeyPair().keyId).not.toBe(pair.keyId);
  });

  it('gives a committed .pub file the id of its bytes, and the same id with CRLF line ends', () => {
    const pem = readFileSync(repoPath('test/fixtures/keys/hostile-test.pub'), 'utf8');
    const id = createHash('sha256').update(pem).digest('hex');
    expect(keyIdOf(loadPublicKey(pem))).toBe(id);
    expect(keyIdOf(loadPublicKey(pem.replaceAll('\n', '\r\n')))).toBe(id);
  });

  it('refuses other curves, RSA keys, private keys given as public, and garbage', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (key: typeof rsa.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadPublicKey(pem(p384.publicKey))).toThrow(
      'public key: an EC key on curve secp384r1; only ECDSA P-256 keys are supported',
    );
    expect(() => loadPublicKey(pem(rsa.publicKey), 'trusted key "ops"')).toThrow(
      'trusted key "ops": a rsa key; only ECDSA P-256 keys are supported',
    );
    const pair = generateSigningKeyPair();
    expect(() => loadPublicKey(pair.privateKeyPem)).toThrow(
      'this is a private key; give the public key (.pub)',
    );
    expect(() => loadPrivateKey('hello')).toThrow(/^private key: not a readable unencrypted PEM private key/);
  });
});
