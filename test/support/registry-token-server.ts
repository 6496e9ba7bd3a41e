/**
 * A token service for the registry's Bearer flow (Docker's token spec, which distribution
 * implements): `GET /token?service=…&scope=repository:<name>:pull,push` with HTTP Basic
 * credentials answers `{ token, expires_in }`, a JWT signed with a throwaway ES256 key whose
 * self-signed certificate (made with `openssl`) the registry is configured to trust and which the
 * token carries in its `x5c` header. It grants a right user every action asked for and refuses
 * anyone else with 401, and counts what it was asked, so tests can see the flow happened.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certificatePath: string;
  /** The scopes asked for, in order, with whether they were granted. */
  requests: { scope: string; granted: boolean }[];
  close(): Promise<void>;
}

const SERVICE = 'modelship-test-registry';
const ISSUER = 'modelship-test-token-issuer';

export async function startTokenServer(options: {
  dir: string;
  username: string;
  password: string;
}): Promise<TokenServer> {
  const keyPath = join(options.dir, 'token-key.pem');
  const certificatePath = join(options.dir, 'token-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certificatePath,
      '-days',
      '1',
      '-subj',
      '/CN=modelship test token issuer',
    ],
    { stdio: 'ignore' },
  );
  const key = await importPKCS8(readFileSync(keyPath, 'utf8'), 'ES256');
  const certificateDer = readFileSync(certificatePath, 'utf8')
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const requests: TokenServer['requests'] = [];

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const scope = url.searchParams.get('scope') ?? '';
    const granted = url.pathname === '/token' && request.headers.authorization === expected;
    requests.push({ scope, granted });
    if (!granted) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ details: 'wrong username or password' }));
      return;
    }
    const [type, name, actions] = scope.split(':');
    const access = type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    void new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', x5c: [certificateDer] })
      .setIssuer(ISSUER)
      .setAudience(url.searchParams.get('service') ?? SERVICE)
      .setSubject(options.username)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(key)
      .then((token) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ token, expires_in: 300 }));
      });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: SERVICE,
    issuer: ISSUER,
    certificatePath,
    requests,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}
