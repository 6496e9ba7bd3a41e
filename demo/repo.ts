/**
 * The demo's Git repository: a fresh one under the OS temp dir, where each step of the journey is
 * a real commit, because `apply` reads specs and models at commits, never from a working tree.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type SimpleGit, simpleGit } from 'simple-git';
import { PROJECT_ROOT } from '../worker/temporal-cli.ts';

export interface DemoRepo {
  root: string;
  /** Copies a file of this project (e.g. `models/iris/v2/model.onnx`) to the same path in the repo. */
  copyFromProject(path: string): Promise<void>;
  write(path: string, text: string): Promise<void>;
  /** sha256 of a file in the repo, to pin it in a spec the way a person would (`sha256sum`). */
  sha256(path: string): Promise<string>;
  /** Stages everything and commits; returns the commit's sha. */
  commit(message: string): Promise<string>;
}

/** The commit author; staging lets an author approve, so the demo's approver can be anyone listed. */
export const DEMO_AUTHOR = { name: 'Dana Developer', email: 'dana@example.com' };

export async function createDemoRepo(): Promise<DemoRepo> {
  const root = await mkdtemp(join(tmpdir(), 'modelship-demo-repo-'));
  const git: SimpleGit = simpleGit(root);
  await git.init(['--initial-branch=main']);
  // Local config only: the demo must not depend on (or change) the user's Git identity or signing.
  await git.addConfig('user.name', DEMO_AUTHOR.name);
  await git.addConfig('user.email', DEMO_AUTHOR.email);
  await git.addConfig('commit.gpgsign', 'false');
  const ensureDir = (path: string) => mkdir(dirname(join(root, path)), { recursive: true });
  return {
    root,
    async copyFromProject(path) {
      await ensureDir(path);
      await cp(join(PROJECT_ROOT, path), join(root, path));
    },
    async write(path, text) {
      await ensureDir(path);
      await writeFile(join(root, path), text);
    },
    async sha256(path) {
      return createHash('sha256')
        .update(await readFile(join(root, path)))
        .digest('hex');
    },
    async commit(message) {
      await git.add('.');
      await git.commit(message);
      return (await git.revparse(['HEAD'])).trim();
    },
  };
}
