/**
 * Files at commits read through one `git cat-file --batch` per reader: the bytes exactly as
 * committed, answers matched to their reads when many are in flight, the reasons a read fails,
 * and a process that never keeps its parent alive.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchBlobReader } from '../../gitops/blob-reader.ts';
import { CommitReader, GitError } from '../../gitops/git.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { REPO_ROOT } from '../support/paths.ts';

let repo: TempRepo;
let commit: string;
// Larger than a pipe's buffer, so an answer arrives in many chunks; every byte value.
const binary = randomBytes(3 * 1024 * 1024 + 17);

beforeAll(async () => {
  repo = await createTempRepo();
  await repo.write('specs/a.yaml', 'name: a\n');
  await repo.write('specs/b.yaml', 'name: b\nline two\n');
  await repo.write('empty.txt', '');
  await repo.write('models/model.onnx', binary);
  await repo.write('odd\nname.txt', 'a newline in the name\n');
  // Git drops a CR at the end of a batch line: read in a batch, this would answer with b.yaml's bytes.
  await repo.write('specs/b.yaml\r', 'the other b\n');
  await repo.write('spaced name .txt', 'spaces\n');
  commit = await repo.commit('files');
});
afterAll(() => repo?.remove());

describe('CommitReader.readBytes through cat-file --batch', () => {
  it('reads every file exactly as committed, many reads in flight at once', async () => {
    const reader = await CommitReader.open(repo.root);
    const paths = ['specs/a.yaml', 'models/model.onnx', 'empty.txt', 'specs/b.yaml', 'spaced name .txt'];
    const read = await Promise.all([...paths, ...paths].map((path) => reader.readBytes(commit, path)));
    const expected = ['name: a\n', binary, '', 'name: b\nline two\n', 'spaces\n'].map((content) =>
      Buffer.from(content),
    );
    // Compared as bytes (a deep equality walks a 3 MB buffer element by element).
    const same = read.map((bytes, index) => bytes.equals(expected[index % expected.length] as Buffer));
    expect(same).toEqual(paths.concat(paths).map(() => true));
    expect(await reader.readText(commit, 'specs/b.yaml')).toBe('name: b\nline two\n');
  });

  it('reads a file whose name holds a line break (it cannot travel on a batch line) as itself', async () => {
    const reader = await CommitReader.open(repo.root);
    expect((await reader.readBytes(commit, 'odd\nname.txt')).toString()).toBe('a newline in the name\n');
    expect((await reader.readBytes(commit, 'specs/b.yaml\r')).toString()).toBe('the other b\n');
    expect((await reader.readBytes(commit, 'specs/b.yaml')).toString()).toBe('name: b\nline two\n');
  });

  it('says why a read fails, and the reads after it still get their own answers', async () => {
    const reader = await CommitReader.open(repo.root);
    const [missing, tree, after] = await Promise.allSettled([
      reader.readBytes(commit, 'specs/none.yaml'),
      reader.readBytes(commit, 'specs'),
      reader.readBytes(commit, 'specs/a.yaml'),
    ]);
    expect(missing.status === 'rejected' && missing.reason).toBeInstanceOf(GitError);
    expect(missing.status === 'rejected' && missing.reason.message).toBe(
      `cannot read specs/none.yaml at ${commit.slice(0, 12)}: no such file at that commit`,
    );
    expect(tree.status === 'rejected' && tree.reason.message).toBe(
      `cannot read specs at ${commit.slice(0, 12)}: it is a tree, not a file`,
    );
    expect(after.status === 'fulfilled' && after.value.toString()).toBe('name: a\n');
  });
});

describe('BatchBlobReader', () => {
  it('starts a new process after the idle one ended', async () => {
    const reader = new BatchBlobReader(repo.root, 50);
    expect(await reader.read(`${commit}:specs/a.yaml`)).toMatchObject({ kind: 'found', type: 'blob' });
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    const again = await reader.read(`${commit}:specs/b.yaml`);
    expect(again.kind === 'found' && again.content.toString()).toBe('name: b\nline two\n');
    reader.close();
  });

  it('rejects with what git said when it cannot run there', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'modelship-not-a-repo-'));
    try {
      const reader = new BatchBlobReader(outside);
      await expect(reader.read('HEAD:x')).rejects.toThrow(
        /git cat-file --batch in .*: fatal: not a git repository/,
      );
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('refuses a name with a line break instead of reading something else', async () => {
    for (const name of ['HEAD:a\nb', 'HEAD:specs/b.yaml\r']) {
      await expect(new BatchBlobReader(repo.root).read(name)).rejects.toThrow(/line break/);
    }
  });

  it('does not keep a finished program alive: it exits as soon as its reads are answered', () => {
    const script = `
      import { CommitReader } from ${JSON.stringify(join(REPO_ROOT, 'gitops/git.ts'))};
      const reader = await CommitReader.open(${JSON.stringify(repo.root)});
      const text = (await reader.readBytes(${JSON.stringify(commit)}, 'specs/a.yaml')).toString();
      process.stdout.write(JSON.stringify({ text, answeredAt: Date.now() }));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    const exitedAt = Date.now();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { text, answeredAt } = JSON.parse(run.stdout) as { text: string; answeredAt: number };
    expect(text).toBe('name: a\n');
    // The idle process is kept 2 s for a next read; the program did not wait for it.
    expect(exitedAt - answeredAt).toBeLessThan(1500);
  });
});
