/**
 * The origin token `apply` presents: given outright, or requested from GitHub Actions' token
 * endpoint (served here by a local HTTP server that checks what GitHub checks: the bearer and the
 * audience).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originTokenFrom } from '../../gitops/origin-token.ts';

let url: string;
const seen: { audience: string | null; authorization: string | undefined }[] = [];
const server = createServer((request, response) => {
  const query = new URL(request.url ?? '/', 'http://x').searchParams;
  seen.push({ audience: query.get('audience'), authorization: request.headers.authorization });
  if (request.headers.authorization !== 'Bearer runner-secret') {
    response.writeHead(403).end('{"message":"no"}');
    return;
  }
  response
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ value: `token-for-${query.get('audience')}` }));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the origin token apply presents', () => {
  it('is MODELSHIP_ORIGIN_TOKEN when given, and nothing outside CI', async () => {
    expect(await originTokenFrom({ MODELSHIP_ORIGIN_TOKEN: ' a.b.c \n' })).toBe('a.b.c');
    expect(await originTokenFrom({})).toBeUndefined();
  });

  it("is GitHub Actions' own, requested for the modelship audience (or MODELSHIP_OIDC_AUDIENCE)", async () => {
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-secret' };
    expect(await originTokenFrom(env)).toBe('token-for-modelship');
    expect(await originTokenFrom({ ...env, MODELSHIP_OIDC_AUDIENCE: 'acme-deploy' })).toBe(
      'token-for-acme-deploy',
    );
    expect(seen.at(-1)).toEqual({ audience: 'acme-deploy', authorization: 'Bearer runner-secret' });
  });

  it('fails saying which permission is missing when GitHub refuses', async () => {
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' };
    await expect(originTokenFrom(env)).rejects.toThrow(/HTTP 403.*id-token: write/);
  });
});
