/**
 * Which repository URL a run names, so that a worker on another machine can fetch its commit.
 * `apply` and `deploy` never hand a worker a checkout path to read; they name where the commit
 * can be fetched from, in this order:
 *
 * 1. `--repository URL`, then `MODELSHIP_REPOSITORY_URL`: what the operator says;
 * 2. in GitHub Actions, the repository the job runs for (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`);
 * 3. the checkout's `origin` remote;
 * 4. the checkout itself, by path: only a worker on this machine can fetch from it (the
 *    single-machine case of `npm start`), which the caller says out loud.
 */
import { simpleGit } from 'simple-git';
import { withoutCredentials } from '../domain/deployment.ts';
import { parseRepositoryUrl } from '../sources/git/repository-url.ts';

export interface RepositoryUrl {
  url: string;
  /** Where the URL came from, for the line the CLI prints. */
  from: 'flag' | 'MODELSHIP_REPOSITORY_URL' | 'github-actions' | 'origin' | 'local checkout';
}

export { withoutCredentials };

/**
 * `url` when the workers' Git source accepts it and it carries no credentials; else an error
 * naming where it came from and why. A token in an https URL would be stored in the run's input,
 * its history and the audit log: workers bring their own (`MODELSHIP_GIT_TOKEN`).
 */
export function checkedRepositoryUrl(url: string, where: string): string {
  if (/^https?:\/\/[^/@]*@/i.test(url))
    throw new Error(
      `${where}: ${withoutCredentials(url)} is given with credentials in it; they would be stored in the run's input and the audit log. Give the workers MODELSHIP_GIT_TOKEN instead`,
    );
  try {
    parseRepositoryUrl(url);
    return url;
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

export async function repositoryUrl(options: {
  /** The checkout's top level. */
  root: string;
  env: NodeJS.ProcessEnv;
  flag?: string | undefined;
}): Promise<RepositoryUrl> {
  const { env, flag } = options;
  // Named by a person: checked here, so a typo fails the command rather than every run it starts.
  if (flag?.trim()) return { url: checkedRepositoryUrl(flag.trim(), '--repository'), from: 'flag' };
  const configured = env.MODELSHIP_REPOSITORY_URL?.trim();
  if (configured)
    return {
      url: checkedRepositoryUrl(configured, 'MODELSHIP_REPOSITORY_URL'),
      from: 'MODELSHIP_REPOSITORY_URL',
    };
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_REPOSITORY) {
    const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
    return { url: `${server}/${env.GITHUB_REPOSITORY}.git`, from: 'github-actions' };
  }
  const origin = await simpleGit(options.root)
    .remote(['get-url', 'origin'])
    .then((text) => (typeof text === 'string' ? text.trim() : ''))
    .catch(() => '');
  // A remote that embeds credentials must not travel into workflow inputs and the audit log.
  if (origin) return { url: withoutCredentials(origin), from: 'origin' };
  return { url: options.root, from: 'local checkout' };
}

/** The line `apply` and `deploy` print about the repository they name. */
export function repositoryLine(command: string, repository: RepositoryUrl): string {
  const note =
    repository.from === 'local checkout'
      ? ' (no origin remote: only a worker on this machine can fetch it; give --repository URL otherwise)'
      : '';
  return `${command}: workers fetch the commit from ${withoutCredentials(repository.url)} (${repository.from})${note}`;
}
