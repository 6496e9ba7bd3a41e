/**
 * Real temporary git repositories for tests: files are copied or written, then committed with
 * simple-git, so code under test sees real commits, not mocks.
 */
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type SimpleGit, simpleGit } from 'simple-git';
import { repoPath } from './paths.ts';

export interface TempRepo {
  root: string;
  git: SimpleGit;
  /** Writes (or overwrites) a file relative to the repo root. */
  write(path: string, content: string | Uint8Array): Promise<void>;
  /** Copies a file from this project (e.g. `models/iris/v1/model.onnx`) to the same path in the repo. */
  copyFromProject(path: string, to?: string): Promise<void>;
  /** Stages everything and commits; returns the new commit's sha. */
  commit(message: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createTempRepo(prefix = 'modelship-repo-'): Promise<TempRepo> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const git = simpleGit(root);
  await git.init(['--initial-branch=main']);
  // Written directly rather than by three `git config` runs: every process a test worker spawns
  // costs it a fork of its whole address space (about 10 ms of CPU at 500 MB), and a full run
  // makes a hundred of these repositories.
  await appendFile(
    join(root, '.git', 'config'),
    '[user]\n\tname = Test Author\n\temail = author@example.com\n[commit]\n\tgpgsign = false\n',
  );
  // Full shas in `git commit`'s summary line, so a commit needs no `rev-parse HEAD` after it.
  const committer = simpleGit(root, { config: ['core.abbrev=40'] });
  const write = async (path: string, content: string | Uint8Array) => {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  };
  return {
    root,
    git,
    write,
    async copyFromProject(path, to = path) {
      const target = join(root, to);
      await mkdir(dirname(target), { recursive: true });
      await cp(repoPath(path), target);
    },
    async commit(message) {
      await git.add('.');
      const result = await committer.commit(message);
      if (/^[0-9a-f]{40}$/.test(result.commit)) return result.commit;
      return (await git.revparse(['HEAD'])).trim();
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
