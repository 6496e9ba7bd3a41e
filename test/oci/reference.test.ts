/**
 * `oci://host/repo@sha256:…` references: what parses, and the message for what does not.
 */
import { describe, expect, it } from 'vitest';
import { OciError } from '../../oci/errors.ts';
import { formatReference, parseReference } from '../../oci/reference.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function refusal(text: string): string {
  try {
    parseReference(text);
  } catch (error) {
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).kind).toBe('invalid');
    return (error as Error).message;
  }
  throw new Error(`${text} was accepted`);
}

describe('parseReference', () => {
  it('parses references with and without the scheme, with ports and nested repositories', () => {
    expect(parseReference(`oci://registry.example.com/models/iris@${DIGEST}`)).toEqual({
      host: 'registry.example.com',
      repository: 'models/iris',
      digest: DIGEST,
    });
    expect(parseReference(`127.0.0.1:5000/a/b/c-d_e.f@${DIGEST}`)).toEqual({
      host: '127.0.0.1:5000',
      repository: 'a/b/c-d_e.f',
      digest: DIGEST,
    });
    expect(parseReference(`oci://[::1]:5000/iris@${DIGEST}`).host).toBe('[::1]:5000');
  });

  it('formats what it parses back to the same text', () => {
    for (const text of [`oci://localhost:5000/models/iris@${DIGEST}`, `ghcr.io/acme/models__x@${DIGEST}`]) {
      const reference = parseReference(text);
      expect(formatReference(reference, { scheme: text.startsWith('oci://') })).toBe(text);
    }
    expect(formatReference(parseReference(`h/r@${DIGEST}`))).toBe(`oci://h/r@${DIGEST}`);
  });

  it('refuses a tag, saying that modelship addresses by digest', () => {
    expect(refusal('oci://registry.example.com/models/iris:v1')).toBe(
      'OCI reference "oci://registry.example.com/models/iris:v1": "v1" is a tag; modelship addresses ' +
        'artifacts only by digest (repository@sha256:<64 hex>), because a tag can move',
    );
    expect(refusal(`localhost:5000/models/iris:v1@${DIGEST}`)).toContain('a tag and a digest together');
    expect(refusal('localhost:5000/models/iris')).toContain('no digest');
  });

  it('refuses a bad digest', () => {
    expect(refusal('h/r@sha256:abc')).toContain('"sha256:abc" is not a sha256 digest');
    expect(refusal(`h/r@sha512:${'ab'.repeat(64)}`)).toContain('is not a sha256 digest');
    expect(refusal(`h/r@${DIGEST.toUpperCase()}`)).toContain('is not a sha256 digest');
  });

  it('refuses repository names outside the distribution grammar', () => {
    for (const repository of [
      'Models/iris',
      'models//iris',
      'models/../iris',
      '-iris',
      'iris-',
      'a/.b',
      'a b',
    ]) {
      expect(refusal(`h/${repository}@${DIGEST}`)).toContain(`repository ${JSON.stringify(repository)}`);
    }
    expect(refusal(`h/${'a'.repeat(300)}@${DIGEST}`)).toContain('longer than 255 characters');
  });

  it('refuses other schemes and a missing host', () => {
    expect(refusal(`https://h/r@${DIGEST}`)).toContain('the only scheme is oci://');
    expect(refusal(`r@${DIGEST}`)).toContain('expected host[:port]/repository@sha256:<digest>');
    expect(refusal(`oci://bad_host/r@${DIGEST}`)).toContain('is not a registry host[:port]');
  });
});
