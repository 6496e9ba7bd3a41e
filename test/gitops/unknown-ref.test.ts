/**
 * What `plan` and `apply` say about a base they cannot resolve: fetching more history helps only
 * a shallow clone; a first commit has no parent, and the null sha is the way to say "nothing".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterEach, describe, expect, it } from 'vitest';
import { CommitReader, NULL_SHA } from '../../gitops/git.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

async function repoWithCommits(count: number): Promise<TempRepo> {
  const repo = await createTempRepo('modelship-unknown-ref-');
  cleanup.push(() => repo.remove());
  for (let index = 1; index <= count; index += 1) {
    await repo.write('specs/README.md', `commit ${index}\n`);
    await repo.commit(`commit ${index}`);
  }
  return repo;
}

async function resolveError(root: string, ref: string): Promise<string> {
  const reader = await CommitReader.open(root);
  return reader.resolve(ref).then(
    () => 'resolved',
    (error: Error) => error.message,
  );
}

describe('an unresolvable base', () => {
  it('HEAD~1 on the first commit suggests the null sha, not fetching history', async () => {
    const repo = await repoWithCommits(1);
    const message = await resolveError(repo.root, 'HEAD~1');
    expect(message).toContain('unknown commit "HEAD~1"');
    expect(message).toContain(
      `HEAD has no such ancestor; to plan a first commit against nothing, give the null sha ${NULL_SHA} as base`,
    );
    expect(message).not.toContain('unshallow');
    // And the advice works.
    expect(await (await CommitReader.open(repo.root)).resolve(NULL_SHA)).toBeNull();
  });

  it('a typo is named as such, with no advice about history', async () => {
    const repo = await repoWithCommits(1);
    const message = await resolveError(repo.root, 'mian');
    expect(message).toMatch(
      /unknown commit "mian" in .*\(no such commit, branch or tag in this repository\)$/,
    );
  });

  it('in a shallow clone, suggests fetching full history', async () => {
    const repo = await repoWithCommits(3);
    const clone = await mkdtemp(join(tmpdir(), 'modelship-shallow-'));
    cleanup.push(() => rm(clone, { recursive: true, force: true }));
    await simpleGit().clone(`file://${repo.root}`, clone, ['--depth', '1']);
    const message = await resolveError(clone, 'HEAD~1');
    expect(message).toContain('this clone is shallow: fetch full history with git fetch --unshallow');
    expect(message).not.toContain(NULL_SHA);
  });
});
