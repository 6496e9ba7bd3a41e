/** Temporary repositories laid out like a user's: committed models, holdouts and specs. */
import { execFile } from 'node:child_process';
import { CommitReader } from '../../gitops/git.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { repoPath } from '../support/paths.ts';

export { exampleSpecYaml } from '../support/model-catalog.ts';

/** A repository with the iris models (v1, v2), its holdout, and the committed JSON Schema. */
export async function createModelRepo(): Promise<TempRepo> {
  const repo = await createTempRepo('modelship-gitops-');
  for (const file of ['models/iris/v1/model.onnx', 'models/iris/v2/model.onnx', 'models/iris/holdout.csv']) {
    await repo.copyFromProject(file);
  }
  await repo.copyFromProject('specs/modeldeployment.schema.json');
  return repo;
}

/** A reader over the repository's commits. */
export function readerOf(repo: TempRepo): Promise<CommitReader> {
  return CommitReader.open(repo.root);
}

/** Replaces full and short shas with names, so plans compare across runs. */
export function withNamedCommits(text: string, commits: Record<string, string>): string {
  let named = text;
  for (const [name, sha] of Object.entries(commits)) {
    named = named.replaceAll(sha, `<${name}>`).replaceAll(sha.slice(0, 12), `<${name}>`);
  }
  return named;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `modelship <args>` as a user would, from `cwd`. */
export function modelship(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [repoPath('bin/modelship.mjs'), ...args],
      { cwd, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
