/**
 * Reading a registry's `WWW-Authenticate` challenge: quoted values may hold commas (scopes do),
 * escapes, and bare values; other schemes are not ours to answer.
 */
import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../oci/registry-auth.ts';

describe('parseChallenge', () => {
  it('reads a Bearer challenge whose scope holds a comma', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",' +
          'scope="repository:models/iris:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:models/iris:pull,push',
      },
    });
  });

  it('reads Basic, bare values, spaces and escapes', () => {
    expect(parseChallenge('Basic realm="modelship \\"test\\""')).toEqual({
      scheme: 'basic',
      params: { realm: 'modelship "test"' },
    });
    expect(parseChallenge('bearer realm=https://a/token, error="insufficient_scope"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://a/token', error: 'insufficient_scope' },
    });
  });

  it('answers nothing for other schemes', () => {
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge('')).toBeUndefined();
  });
});
