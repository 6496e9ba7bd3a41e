/**
 * `GitCheckouts` against real repositories: a bare repository served over Git's smart HTTP by
 * `git http-backend` (test/support/git-http-server.ts) with HTTP Basic auth, and repositories on
 * disk by path and file:// URL. Every fetch, checkout and refusal is Git's own.
 */
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Checkout,
  type CheckoutProgress,
  GitCheckouts,
  GitSourceError,
} from '../../sources/git/checkouts.ts';
import { removeTree } from '../../sources/git/tree.ts';
import { freePort } from '../../worker/dev-server.ts';
import { type GitHttpServer, pushToBare, startGitHttpServer } from '../support/git-http-server.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { REPO_ROOT, repoPath } from '../support/paths.ts';

const CHECKOUTS_MODULE = repoPath('sources/git/checkouts.ts');

const TOKEN = 'ghs_rightTokenValue0123456789';
const credentials = { token: TOKEN };

async function failure(promise: Promise<unknown>): Promise<GitSourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitSourceError);
  return error as GitSourceError;
}

let serverRoot: string;
let repo: TempRepo;
let server: GitHttpServer;
let first: string;
let home: string;

beforeAll(async () => {
  serverRoot = await mkdtemp(join(tmpdir(), 'modelship-git-server-'));
  repo = await createTempRepo();
  // Conversions a checkout must not apply: the tree's files are digested as committed.
  await repo.write('.gitattributes', '* text eol=crlf ident\n');
  await repo.write('specs/iris.yaml', 'name: iris\n# $Id$\n');
  await repo.write('models/iris/model.onnx', new Uint8Array([0, 1, 2, 13, 10, 255]));
  await repo.write('bin/train.sh', '#!/bin/sh\necho train\n');
  await chmod(join(repo.root, 'bin/train.sh'), 0o755);
  first = await repo.commit('first');
  await pushToBare(repo, serverRoot, 'models');
  server = await startGitHttpServer({
    root: serverRoot,
    auth: { username: 'x-access-token', password: TOKEN },
  });
});

afterAll(async () => {
  await server.close();
  await repo.remove();
  await removeTree(serverRoot);
});

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'modelship-git-home-'));
});

afterEach(async () => {
  await removeTree(home);
});

describe('GitCheckouts over smart HTTP', () => {
  it('fetches a commit with the token and hands out its exact tree, read-only', async () => {
    const progress: CheckoutProgress[] = [];
    const checkout = await new GitCheckouts({ home, credentials }).checkout(server.url('models'), first, {
      onProgress: (p) => progress.push(p),
    });
    expect(checkout).toMatchObject({ commit: first, fetched: true });
    expect(checkout.root.startsWith(join(home, 'git', 'checkouts'))).toBe(true);
    for (const path of ['specs/iris.yaml', 'models/iris/model.onnx', '.gitattributes']) {
      const blob = await repo.git.binaryCatFile(['blob', `${first}:${path}`]);
      expect(await readFile(join(checkout.root, path)), path).toEqual(blob);
    }
    expect(await readFile(join(checkout.root, 'specs/iris.yaml'), 'utf8')).toBe('name: iris\n# $Id$\n');
    expect((await stat(join(checkout.root, 'specs/iris.yaml'))).mode & 0o777).toBe(0o444);
    expect((await stat(join(checkout.root, 'bin/train.sh'))).mode & 0o777).toBe(0o555);
    expect((await stat(join(checkout.root, 'models/iris'))).mode & 0o777).toBe(0o555);
    expect((await stat(checkout.root)).mode & 0o777).toBe(0o555);
    expect(progress.map((p) => p.phase)).toContain('fetching');
    expect(progress.at(-1)).toEqual({ phase: 'checking-out' });
    const names = await readdir(join(home, 'git', 'repos'));
    expect(names.filter((name) => name.endsWith('.git'))).toHaveLength(1);
    expect(names.join(' ')).not.toContain(TOKEN);
  });

  it('refuses a wrong token as auth-failed, the token in no form in the message', async () => {
    const wrong = 'ghs_wrongTokenValue9876543210';
    // Git's traces would print the Authorization header; the worker's environment must not leak it.
    const env = { ...process.env, GIT_TRACE: '1', GIT_CURL_VERBOSE: '1', GIT_TRACE_CURL: '1' };
    const error = await failure(
      new GitCheckouts({ home, credentials: { token: wrong }, env }).checkout(server.url('models'), first),
    );
    expect(error).toMatchObject({ kind: 'auth-failed', retryable: true, url: server.url('models') });
    expect(error.message).toContain('MODELSHIP_GIT_TOKEN');
    for (const secret of [wrong, Buffer.from(`x-access-token:${wrong}`).toString('base64')]) {
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
    }
    const anonymous = await failure(new GitCheckouts({ home }).checkout(server.url('models'), first));
    expect(anonymous.kind).toBe('auth-failed');
  });

  it('fetches a commit pushed later, and asks the server nothing for a commit it has', async () => {
    const checkouts = new GitCheckouts({ home, credentials });
    await checkouts.checkout(server.url('models'), first);
    await repo.write('specs/iris.yaml', 'name: iris\nversion: 2\n');
    const second = await repo.commit('second');
    await pushToBare(repo, serverRoot, 'models');
    const later = await checkouts.checkout(server.url('models'), second);
    expect(later.fetched).toBe(true);
    expect(await readFile(join(later.root, 'specs/iris.yaml'), 'utf8')).toBe('name: iris\nversion: 2\n');
    const asked = server.requests.length;
    expect(await checkouts.checkout(server.url('models'), first)).toMatchObject({ fetched: false });
    expect(server.requests.length).toBe(asked);
  });

  it('serves a cached commit with the server gone, rebuilding an evicted tree from the cache', async () => {
    const own = await startGitHttpServer({
      root: serverRoot,
      auth: { username: 'x-access-token', password: TOKEN },
    });
    const checkouts = new GitCheckouts({ home, credentials });
    const { root } = await checkouts.checkout(own.url('models'), first);
    await own.close();
    expect(await checkouts.checkout(own.url('models'), first)).toEqual({
      root,
      commit: first,
      fetched: false,
    });
    await removeTree(root);
    expect(await new GitCheckouts({ home, credentials }).checkout(own.url('models'), first)).toEqual({
      root,
      commit: first,
      fetched: false,
    });
    expect(await readFile(join(root, 'specs/iris.yaml'), 'utf8')).toBe('name: iris\n# $Id$\n');
  });

  it('says a commit the server lacks is commit-not-found, not to be retried, naming URL and commit', async () => {
    const missing = 'c0ffee'.repeat(6).concat('c0ff');
    const error = await failure(
      new GitCheckouts({ home, credentials }).checkout(server.url('models'), missing),
    );
    expect(error).toMatchObject({ kind: 'commit-not-found', retryable: false });
    expect(error.message).toContain(missing);
    expect(error.message).toContain(server.url('models'));
    expect(error.message).toMatch(/Push the commit/);
  });

  it('says a missing repository is repository-not-found, and a dead server unreachable (retryable)', async () => {
    const checkouts = new GitCheckouts({ home, credentials });
    const absent = await failure(checkouts.checkout(server.url('absent'), first));
    expect(absent).toMatchObject({ kind: 'repository-not-found', retryable: false });
    const port = await freePort();
    const dead = await failure(checkouts.checkout(`http://127.0.0.1:${port}/models.git`, first));
    expect(dead).toMatchObject({ kind: 'unreachable', retryable: true });
    const unknownHost = await failure(checkouts.checkout('https://git.example.invalid/models.git', first));
    expect(unknownHost).toMatchObject({ kind: 'unreachable', retryable: true });
  });

  it('follows no redirect while it holds a token, so the token never reaches another host', async () => {
    const target = server.url('models');
    const mover = createServer((request, response) => {
      response.writeHead(301, { location: `${target}${(request.url ?? '').replace(/^\/moved\.git/, '')}` });
      response.end();
    });
    const port = await freePort();
    await new Promise<void>((resolveListen) => mover.listen(port, '127.0.0.1', resolveListen));
    try {
      const asked = server.requests.length;
      const error = await failure(
        new GitCheckouts({ home, credentials }).checkout(`http://127.0.0.1:${port}/moved.git`, first),
      );
      expect(error).toMatchObject({ kind: 'repository-not-found', retryable: false });
      expect(error.message).toContain('redirects');
      expect(server.requests.length).toBe(asked);
    } finally {
      await new Promise((resolveClose) => mover.close(resolveClose));
    }
  });

  it('reaches ssh repositories through its own ssh command, key path quoted for the shell', async () => {
    const port = await freePort();
    const checkouts = new GitCheckouts({ home, credentials: { sshKeyPath: join(home, "it's a key") } });
    const error = await failure(checkouts.checkout(`ssh://git@127.0.0.1:${port}/models.git`, first));
    expect(error).toMatchObject({ kind: 'unreachable', retryable: true });
    expect(error.message).toContain('Connection refused');
  });

  it('lets processes race on one home: every one ends with the complete tree', async () => {
    // What two workers on one machine (or one home on a shared disk) do: each its own process.
    const script = [
      `const { GitCheckouts, gitCredentialsFromEnv } = await import(${JSON.stringify(CHECKOUTS_MODULE)});`,
      'const checkouts = new GitCheckouts({ home: process.argv[1], credentials: gitCredentialsFromEnv(process.env) });',
      'process.stdout.write(JSON.stringify(await checkouts.checkout(process.argv[2], process.argv[3])));',
    ].join('\n');
    const race = () =>
      new Promise<Checkout>((resolveRun, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script, home, server.url('models'), first],
          { cwd: REPO_ROOT, env: { ...process.env, MODELSHIP_GIT_TOKEN: TOKEN } },
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolveRun(JSON.parse(stdout))),
        );
      });
    const results = await Promise.all([race(), race(), race()]);
    const roots = new Set(results.map((result) => result.root));
    expect(roots.size).toBe(1);
    const [root] = roots;
    expect(await readFile(join(root ?? '', 'specs/iris.yaml'), 'utf8')).toBe('name: iris\n# $Id$\n');
    expect(await readdir(dirname(root ?? ''))).toEqual([first]);
    expect((await readdir(join(home, 'git', 'repos'))).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  describe('a server that accepts and never answers', () => {
    let silent: Server;
    let url: string;
    beforeAll(async () => {
      silent = createServer(() => {});
      const port = await freePort();
      await new Promise<void>((resolveListen) => silent.listen(port, '127.0.0.1', resolveListen));
      url = `http://127.0.0.1:${port}/models.git`;
    });
    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise((resolveClose) => silent.close(resolveClose));
    });

    it('is given up on as unreachable once Git has been silent for the stall timeout', async () => {
      const started = Date.now();
      const error = await failure(new GitCheckouts({ home, stallTimeoutMs: 500 }).checkout(url, first));
      expect(error).toMatchObject({ kind: 'unreachable', retryable: true });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('stops the fetch when the caller cancels, rejecting with the cancellation', async () => {
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      setTimeout(() => controller.abort(reason), 300);
      const call = new GitCheckouts({ home }).checkout(url, first, { signal: controller.signal });
      await expect(call).rejects.toBe(reason);
    });

    it('ends the call with the error a progress callback throws (a heartbeat reporting cancellation)', async () => {
      const cancelled = new Error('cancelled by heartbeat');
      const call = new GitCheckouts({ home }).checkout(url, first, {
        onProgress: () => {
          throw cancelled;
        },
      });
      await expect(call).rejects.toBe(cancelled);
    });
  });
});

describe('GitCheckouts on this machine', () => {
  it('fetches from a path and a file:// URL into one cache entry', async () => {
    const checkouts = new GitCheckouts({ home });
    const byPath = await checkouts.checkout(`${repo.root}/`, first);
    expect(byPath.fetched).toBe(true);
    expect(await checkouts.checkout(`file://${repo.root}`, first)).toEqual({ ...byPath, fetched: false });
    expect(await readFile(join(byPath.root, 'specs/iris.yaml'), 'utf8')).toBe('name: iris\n# $Id$\n');
  });

  it('refuses local repositories when told to', async () => {
    const error = await failure(new GitCheckouts({ home, allowLocal: false }).checkout(repo.root, first));
    expect(error.kind).toBe('invalid-url');
  });

  it('fetches from a SHA-256 repository into a cache of its own format', async () => {
    const root = await mkdtemp(join(tmpdir(), 'modelship-sha256-'));
    try {
      const git = simpleGit(root);
      await git.init(['--object-format=sha256', '--initial-branch=main']);
      await git.addConfig('user.name', 'Test Author');
      await git.addConfig('user.email', 'author@example.com');
      await git.raw(['commit', '--allow-empty', '-m', 'empty']);
      const commit = (await git.revparse(['HEAD'])).trim();
      expect(commit).toHaveLength(64);
      const checkout = await new GitCheckouts({ home }).checkout(root, commit);
      expect(checkout.fetched).toBe(true);
      expect(await readdir(checkout.root)).toEqual([]);
      expect((await readdir(join(home, 'git', 'repos'))).some((name) => name.endsWith('.sha256.git'))).toBe(
        true,
      );
    } finally {
      await removeTree(root);
    }
  });

  it('shares one fetch among concurrent calls, and two caches racing on one home both end complete', async () => {
    const checkouts = new GitCheckouts({ home });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => checkouts.checkout(repo.root, first)));
    expect(a?.fetched).toBe(true);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const other = await mkdtemp(join(tmpdir(), 'modelship-git-home-'));
    try {
      const racers = await Promise.all(
        [1, 2, 3, 4].map(() => new GitCheckouts({ home: other }).checkout(repo.root, first)),
      );
      for (const racer of racers) {
        expect(await readFile(join(racer.root, 'specs/iris.yaml'), 'utf8')).toBe('name: iris\n# $Id$\n');
        expect(await readFile(join(racer.root, 'bin/train.sh'), 'utf8')).toBe('#!/bin/sh\necho train\n');
      }
      // Only the winner's tree remains: the losers' copies and index files are gone.
      expect(await readdir(dirname(racers[0]?.root ?? ''))).toEqual([first]);
    } finally {
      await removeTree(other);
    }
  });

  it('keeps the `keep` most recently used checkouts of a repository', async () => {
    const local = await createTempRepo();
    try {
      const commits: string[] = [];
      for (const n of [1, 2, 3]) {
        await local.write('n.txt', `${n}\n`);
        commits.push(await local.commit(`commit ${n}`));
      }
      const [one, two, three] = commits as [string, string, string];
      const checkouts = new GitCheckouts({ home, keep: 2 });
      const kept = async () => {
        const { root } = await checkouts.checkout(local.root, one);
        const names = await readdir(join(root, '..'));
        return names.filter((name) => !name.startsWith('.')).sort();
      };
      await checkouts.checkout(local.root, one);
      await checkouts.checkout(local.root, two);
      await new Promise((resolveWait) => setTimeout(resolveWait, 20));
      await checkouts.checkout(local.root, one);
      await new Promise((resolveWait) => setTimeout(resolveWait, 20));
      await checkouts.checkout(local.root, three);
      expect(await kept()).toEqual([one, three].sort());
      // An evicted tree comes back from the repository cache, without fetching.
      expect(await checkouts.checkout(local.root, two)).toMatchObject({ fetched: false });
      const { root } = await checkouts.checkout(local.root, two);
      expect((await lstat(root)).isDirectory()).toBe(true);
    } finally {
      await local.remove();
    }
  });
});
