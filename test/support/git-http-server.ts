/**
 * A Git smart-HTTP server for tests: Node's http server runs Git's own `git http-backend` as a
 * CGI program, the way Apache or nginx+fcgiwrap serve repositories, so clients under test speak
 * the real protocol (v2 included) to the real server code. Repositories are bare repositories
 * under `root`; every one is exported. With `auth`, every request must carry that HTTP Basic
 * user and password, as a hosting service demands for a private repository.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { freePort } from '../../worker/dev-server.ts';
import type { TempRepo } from './git-repo.ts';

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/<name>.git`: the URL of the bare repository `<root>/<name>.git`. */
  url(name: string): string;
  /** `METHOD /path?query` of every request so far, for tests that must see the server (not) asked. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** Directory of bare repositories, `<name>.git`. */
  root: string;
  /** HTTP Basic credentials every request must present; none: anyone may read. */
  auth?: { username: string; password: string };
}

/** Request headers as CGI passes them: `HTTP_<NAME>`, e.g. `Git-Protocol` → `HTTP_GIT_PROTOCOL`. */
function cgiHeaders(request: IncomingMessage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  return env;
}

function authorised(request: IncomingMessage, auth: GitHttpServerOptions['auth']): boolean {
  if (!auth) return true;
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return request.headers.authorization === expected;
}

/**
 * Runs `git http-backend` for one request: the body goes to its stdin as it is (Git inflates a
 * gzip'd body itself, told by `HTTP_CONTENT_ENCODING`), and its CGI answer (headers, a blank
 * line, the body) becomes the HTTP response, `Status:` included.
 */
function serveCgi(root: string, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const child = spawn('git', ['http-backend'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      ...cgiHeaders(request),
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      // Real servers hand the protocol version over the same way (Git's docs for Apache do it).
      ...(request.headers['git-protocol'] ? { GIT_PROTOCOL: String(request.headers['git-protocol']) } : {}),
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: request.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: request.headers['content-type'] ?? '',
      ...(request.headers['content-length'] ? { CONTENT_LENGTH: request.headers['content-length'] } : {}),
      REMOTE_ADDR: request.socket.remoteAddress ?? '127.0.0.1',
    },
  });
  request.pipe(child.stdin);
  child.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const crlf = text.indexOf('\r\n\r\n');
    const lf = text.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    let status = 200;
    for (const line of text.slice(0, end).split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else response.setHeader(name, value);
    }
    response.writeHead(status);
    headersSent = true;
    response.write(head.subarray(end));
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  child.on('close', (code) => {
    if (!headersSent) {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`git http-backend exited with ${code}: ${stderr}`);
      return;
    }
    response.end();
  });
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (!authorised(request, options.auth)) {
      request.resume();
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
      response.end('authentication required\n');
      return;
    }
    serveCgi(options.root, request, response);
  });
  const port = await freePort();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${bound}/${name}.git`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/**
 * Pushes `branch` of a test repository to the bare repository `<root>/<name>.git` (created on
 * first push), as a developer pushing to the hosting service would; returns its path.
 */
export async function pushToBare(
  repo: TempRepo,
  root: string,
  name: string,
  branch = 'main',
): Promise<string> {
  const bare = join(root, `${name}.git`);
  await mkdir(bare, { recursive: true });
  const server = simpleGit(bare);
  await server.init(true);
  await repo.git.push(bare, `+${branch}:refs/heads/${branch}`);
  await server.raw(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  return bare;
}
