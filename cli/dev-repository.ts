/**
 * The Git repository `modelship dev` deploys from, `<home>/dev/repo`: dev works as a platform
 * team does, by committing a spec change and running `apply`, so `npm start` exercises the same
 * path as a merge in CI. Each spec of `specs/dev` is committed in turn as
 * `specs/<model>-<environment>.yaml` (one spec per deployment, as `plan` requires), together with
 * the files it points at (model, holdout), copied from the checkout the spec came from.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CheckRepoActions, type SimpleGit, simpleGit } from 'simple-git';

/** A spec as dev commits it: its text, which deployment it is, and the files it needs. */
export interface DevSpec {
  /** The file in `specs/dev` it was read from, for messages. */
  file: string;
  specText: string;
  model: string;
  environment: string;
  /** Repository-relative paths the spec points at (model source, holdout). */
  references: string[];
  /** Where those paths are read from: the top of the checkout holding the spec file. */
  sourceRoot: string;
}

export class DevRepository {
  private constructor(
    /** Absolute path; also the repository URL workers fetch from (one machine). */
    readonly dir: string,
    private readonly git: SimpleGit,
    /** Whether the repository was there before this session (dev restarted). */
    readonly existed: boolean,
  ) {}

  /** Opens the repository under `home`, creating it (with its first, empty commit) on first use. */
  static async open(home: string): Promise<DevRepository> {
    const dir = join(home, 'dev', 'repo');
    await mkdir(dir, { recursive: true });
    const git = simpleGit(dir);
    const existed = await git.checkIsRepo(CheckRepoActions.IS_REPO_ROOT).catch(() => false);
    if (!existed) {
      await git.init(['--initial-branch=main']);
      await git.addConfig('user.name', 'modelship dev');
      await git.addConfig('user.email', 'dev@modelship.invalid');
      await git.commit('modelship dev: an empty repository', undefined, { '--allow-empty': null });
    }
    return new DevRepository(dir, git, existed);
  }

  /** Where dev commits the spec of a deployment. */
  static specPath(spec: Pick<DevSpec, 'model' | 'environment'>): string {
    return `specs/${spec.model}-${spec.environment}.yaml`;
  }

  /**
   * Writes the spec and the files it points at, and commits them when anything changed;
   * resolves with the head commit (the previous one when nothing changed).
   */
  async commitSpec(spec: DevSpec): Promise<string> {
    for (const path of spec.references) {
      const target = join(this.dir, path);
      const same = await Promise.all([
        readFile(join(spec.sourceRoot, path)),
        readFile(target).catch(() => undefined),
      ]).then(([from, to]) => to !== undefined && from.equals(to));
      if (same) continue;
      await mkdir(dirname(target), { recursive: true });
      await copyFile(join(spec.sourceRoot, path), target);
    }
    const specPath = DevRepository.specPath(spec);
    await mkdir(dirname(join(this.dir, specPath)), { recursive: true });
    await writeFile(join(this.dir, specPath), spec.specText);
    await this.git.add(['--all']);
    const status = await this.git.status();
    if (!status.isClean()) await this.git.commit(`dev: ${spec.file}`);
    return (await this.git.revparse(['HEAD'])).trim();
  }
}
