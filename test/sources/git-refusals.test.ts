/**
 * What `GitCheckouts` refuses: repository URLs and commits that are not the forms it fetches
 * (refused before Git runs, so no cache directory appears), and what a hostile repository puts in
 * a commit: a symlink pointing outside the checkout, a path with `..`. The repositories are real,
 * the hostile ones built with Git's plumbing as an attacker would.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitCheckouts, GitSourceError } from '../../sources/git/checkouts.ts';
import { parseRepositoryUrl } from '../../sources/git/repository-url.ts';
import { removeTree } from '../../sources/git/tree.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

async function failure(promise: Promise<unknown>): Promise<GitSourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitSourceError);
  return error as GitSourceError;
}

let home: string;
let repo: TempRepo;
let secret: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'modelship-git-home-'));
  const outside = await mkdtemp(join(tmpdir(), 'modelship-outside-'));
  secret = join(outside, 'secret.key');
  await writeFile(secret, 'the worker’s private key\n');
  repo = await createTempRepo();
  await repo.write('specs/iris.yaml', 'name: iris\n');
  // A model "file" that is a link to a file of the worker's, a directory link out of the tree, a
  // link that leaves only through a linked directory, a chain through a link that leaves, and
  // links that stay inside (kept, as in the author's checkout).
  await symlink(secret, join(repo.root, 'model.onnx'));
  await symlink('../../../../../../../../etc', join(repo.root, 'specs', 'etc'));
  await repo.write('models/v1/weights.bin', 'weights');
  await repo.write('models/v1/deep/notes.txt', 'notes');
  await symlink('v1', join(repo.root, 'models', 'current'));
  await symlink('v1/deep', join(repo.root, 'models', 'down'));
  await symlink('..', join(repo.root, 'models', 'top'));
  // Inside by its text (models/top/../.. is the root), outside where the file system takes it.
  await symlink('top/../..', join(repo.root, 'models', 'up'));
  await symlink('../model.onnx', join(repo.root, 'models', 'chained.onnx'));
  await repo.commit('hostile links');
});

afterAll(async () => {
  await repo.remove();
  await removeTree(home);
  await removeTree(join(secret, '..'));
});

describe('refused before Git runs', () => {
  it.each([
    ['remote helper', 'ext::sh -c touch% /tmp/pwned'],
    ['fd helper', 'fd::17'],
    ['an option', '--upload-pack=touch /tmp/pwned'],
    ['an ssh option', '-oProxyCommand=touch /tmp/pwned'],
    ['a newline', 'https://git.example.com/models.git\n[core]'],
    ['a NUL', 'https://git.example.com/models.git\u0000'],
    ['git://', 'git://git.example.com/models.git'],
    ['a relative path', 'repos/models'],
    ['a home path', '~/models'],
    ['an ssh host that is an option', 'ssh://-oProxyCommand=touch%20x/models.git'],
    ['an scp path that is an option', 'git.example.com:-oProxyCommand=x'],
    ['a file URL on another host', 'file://elsewhere/srv/models.git'],
    ['a query', 'https://git.example.com/models.git?x=1'],
    ['nothing', '   '],
  ])('a repository URL with %s', async (_, url) => {
    const error = await failure(new GitCheckouts({ home }).checkout(url, COMMIT));
    expect(error).toMatchObject({ kind: 'invalid-url', retryable: false });
    expect(error.message).not.toMatch(/\n/);
    expect(await readdir(home)).toEqual([]);
  });

  it('a URL carrying credentials, naming neither them nor keeping them anywhere', async () => {
    for (const url of [
      'https://x-access-token:ghs_secretInUrl123@github.com/acme/models.git',
      'https://ghs_secretInUrl123@github.com/acme/models.git',
      'ssh://git:ghs_secretInUrl123@github.com/acme/models.git',
    ]) {
      const error = await failure(new GitCheckouts({ home }).checkout(url, COMMIT));
      expect(error.kind).toBe('invalid-url');
      expect(error.message).not.toContain('ghs_secretInUrl123');
      expect(error.url).not.toContain('ghs_secretInUrl123');
    }
    expect(await readdir(home)).toEqual([]);
  });

  it.each([
    ['a branch', 'main'],
    ['HEAD', 'HEAD'],
    ['a short id', '0123456'],
    ['an option', '--upload-pack=touch /tmp/pwned'],
    ['a refspec', `${COMMIT}:refs/heads/main`],
    ['39 digits', COMMIT.slice(1)],
    ['a non-hex digit', `${COMMIT.slice(1)}g`],
    ['the null id', '0'.repeat(40)],
    ['a newline inside', `${COMMIT.slice(0, 20)}\n${COMMIT.slice(20)}`],
  ])('a commit that is %s', async (_, commit) => {
    const error = await failure(
      new GitCheckouts({ home }).checkout('https://git.example.com/models.git', commit),
    );
    expect(error).toMatchObject({
      kind: 'invalid-commit',
      retryable: false,
      url: 'https://git.example.com/models.git',
    });
    expect(await readdir(home)).toEqual([]);
  });

  it('accepts the forms it fetches from, one cache key per repository', () => {
    const https = parseRepositoryUrl('HTTPS://Git.Example.com:443/acme/models.git/');
    expect(https).toMatchObject({ transport: 'https', url: 'https://git.example.com/acme/models.git' });
    expect(https.key).toMatch(/^git\.example\.com-models-[0-9a-f]{20}$/);
    expect(parseRepositoryUrl('git@github.com:acme/models.git')).toMatchObject({
      transport: 'ssh',
      url: 'git@github.com:acme/models.git',
    });
    expect(parseRepositoryUrl('ssh://git@GitHub.com:2222/acme/models.git').url).toBe(
      'ssh://git@github.com:2222/acme/models.git',
    );
    expect(parseRepositoryUrl('file:///srv/models/').key).toBe(parseRepositoryUrl('/srv/models').key);
    expect(parseRepositoryUrl('https://git.example.com/acme/models').key).not.toBe(https.key);
  });
});

describe('a hostile repository', () => {
  it('cannot point a checkout outside itself: links that leave it are gone, links inside it kept', async () => {
    const commit = (await repo.git.revparse(['HEAD'])).trim();
    const { root } = await new GitCheckouts({ home }).checkout(repo.root, commit);
    const absent = (path: string) =>
      lstat(join(root, path)).then(
        () => false,
        () => true,
      );
    expect(await absent('model.onnx')).toBe(true);
    expect(await absent('specs/etc')).toBe(true);
    expect(await absent('models/up')).toBe(true);
    expect(await absent('models/chained.onnx')).toBe(true);
    expect(await readFile(join(root, 'models/current/weights.bin'), 'utf8')).toBe('weights');
    expect((await lstat(join(root, 'models/down'))).isSymbolicLink()).toBe(true);
    const links = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) =>
      e.isSymbolicLink(),
    );
    expect(links.map((e) => e.name).sort()).toEqual(['current', 'down', 'top']);
  });

  it('cannot write outside the checkout with a `..` path: refused-content, not retried', async () => {
    const hostile = await createTempRepo();
    try {
      const blob = (await runWithInput(hostile, ['hash-object', '-w', '--stdin'], 'owned\n')).trim();
      const inner = (await runWithInput(hostile, ['mktree'], `100644 blob ${blob}\tpasswd\n`)).trim();
      const tree = (await runWithInput(hostile, ['mktree'], `040000 tree ${inner}\t..\n`)).trim();
      const commit = (await hostile.git.raw(['commit-tree', '-m', 'escape', tree])).trim();
      const error = await failure(new GitCheckouts({ home }).checkout(hostile.root, commit));
      expect(error).toMatchObject({ kind: 'refused-content', retryable: false });
      expect(error.message).toMatch(/hasDotdot|invalid path/);
    } finally {
      await hostile.remove();
    }
  });
});

/** `git <args>` in `repo` with `input` on stdin (simple-git has no stdin). */
function runWithInput(repo: TempRepo, args: string[], input: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = execFile('git', args, { cwd: repo.root }, (error, stdout) =>
      error ? reject(error) : resolveRun(stdout),
    );
    child.stdin?.end(input);
  });
}
