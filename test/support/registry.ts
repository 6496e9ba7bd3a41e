/**
 * A real OCI registry for tests: Debian's `docker-registry` (the CNCF distribution registry 2.8,
 * installed by `npm test`'s set-up into `.tools/docker-registry`), on a free loopback port, with
 * its configuration and storage in a temporary directory, and authentication on:
 *
 * - `htpasswd` (default): HTTP Basic against a bcrypt htpasswd file. Distribution 2.8 serves
 *   this over plain HTTP (it only logs a warning), so no TLS is set up;
 * - `token`: the Bearer token flow, with a small token service of our own
 *   (`registry-token-server.ts`) whose signing certificate the registry trusts.
 *
 * Started per test file and stopped with it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort } from '../../worker/dev-server.ts';
import { ensureRegistry } from '../../worker/registry-bin.ts';
import { startTokenServer, type TokenServer } from './registry-token-server.ts';

export interface TestRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, as references and skopeo name it. */
  host: string;
  username: string;
  password: string;
  /** Where the registry keeps its data, for tests that tamper with it. */
  storageDir: string;
  /** The token service, when `auth` is `token`. */
  tokenServer?: TokenServer;
  /** The file the registry serves a blob from (distribution's filesystem driver layout). */
  blobDataPath(digest: string): string;
  close(): Promise<void>;
}

async function waitUntilServing(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    const status = await fetch(`${url}/v2/`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 401 || status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`docker-registry did not answer on ${url} within 15 s: ${log()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Starts a registry with authentication on. */
export async function startRegistry(options: { auth?: 'htpasswd' | 'token' } = {}): Promise<TestRegistry> {
  const binary = ensureRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'modelship-registry-'));
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir);
  const port = await freePort();
  const username = 'modelship';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  let tokenServer: TokenServer | undefined;
  let auth: string[];
  if (options.auth === 'token') {
    tokenServer = await startTokenServer({ dir, username, password });
    auth = [
      '  token:',
      `    realm: ${tokenServer.realm}`,
      `    service: ${tokenServer.service}`,
      `    issuer: ${tokenServer.issuer}`,
      `    rootcertbundle: ${tokenServer.certificatePath}`,
    ];
  } else {
    const htpasswd = join(dir, 'htpasswd');
    // The registry accepts only bcrypt entries; a low cost keeps each request's check fast.
    await writeFile(htpasswd, `${username}:${bcrypt.hashSync(password, 4)}\n`);
    auth = ['  htpasswd:', '    realm: modelship-test', `    path: ${htpasswd}`];
  }
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storageDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: modelship-test-secret',
      'auth:',
      ...auth,
      '',
    ].join('\n'),
  );
  const child = spawn(binary.path, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    await tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(url, child, () => stderr);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    username,
    password,
    storageDir,
    ...(tokenServer ? { tokenServer } : {}),
    blobDataPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    close,
  };
}
