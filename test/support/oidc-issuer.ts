/**
 * A local OpenID Connect issuer for tests: a real ES256 key pair (jose), its JWKS served over
 * HTTP on 127.0.0.1, and tokens signed with it. Nothing about verification is faked: the code
 * under test fetches this JWKS and checks these signatures as it would a company SSO's or
 * GitHub Actions'. `rogue` signs with a different key under the same issuer name, as a forger
 * who knows the issuer's URL would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface TestIssuer {
  /** The `iss` of its tokens (its base URL). */
  issuer: string;
  /** Where its JWKS is served. */
  jwksUrl: string;
  /** The JWKS text, to commit as a repository file instead of a URL. */
  jwksText: string;
  /** A token with `claims`, signed by the issuer's key; `expiresIn` e.g. `5m`, `iat` in seconds. */
  issue(
    claims: JWTPayload,
    options?: { audience?: string; expiresIn?: string | number; iat?: number },
  ): Promise<string>;
  /** The same, signed by a key the issuer never published. */
  rogue(claims: JWTPayload, options?: { audience?: string }): Promise<string>;
  close(): Promise<void>;
}

async function signer() {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = {
    ...(await exportJWK(pair.publicKey)),
    kid: `k-${Math.random().toString(36).slice(2, 10)}`,
    alg: 'ES256',
    use: 'sig',
  };
  return { pair, jwk };
}

/** Starts an issuer whose tokens carry `audience` unless told otherwise. */
export async function startTestIssuer(audience = 'modelship'): Promise<TestIssuer> {
  const real = await signer();
  const fake = await signer();
  const jwksText = JSON.stringify({ keys: [real.jwk] });
  const server: Server = createServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwksText);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign =
    (key: Awaited<ReturnType<typeof signer>>) =>
    async (
      claims: JWTPayload,
      options: { audience?: string; expiresIn?: string | number; iat?: number } = {},
    ) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid })
        .setIssuer(base)
        .setAudience(options.audience ?? audience)
        .setIssuedAt(options.iat)
        .setExpirationTime(options.expiresIn ?? '5m');
      return jwt.sign(key.pair.privateKey);
    };
  return {
    issuer: base,
    jwksUrl: `${base}/.well-known/jwks.json`,
    jwksText,
    issue: sign(real),
    rogue: sign({ ...fake, jwk: { ...fake.jwk, kid: real.jwk.kid } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
