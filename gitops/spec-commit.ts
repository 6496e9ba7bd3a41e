/**
 * Writing one spec change as a commit, the way `promote` and `revert` hand changes to Git (the
 * source of truth): on the current branch or a new one, optionally pushed, and optionally proposed
 * as a pull request through the host's API (`pull-request.ts`) into the branch it started from.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import {
  openPullRequest,
  PullRequestError,
  type PullRequestTarget,
  repositoryOfRemote,
} from './pull-request.ts';

/** The change could not be committed, pushed or proposed: a sentence for the person who asked. */
export class SpecCommitError extends Error {
  override readonly name = 'SpecCommitError';
}

/** Where the pull request is opened; the repository is read from the remote's URL when absent. */
export type PullRequestOptions = Omit<PullRequestTarget, 'repository'> & { repository?: string };

export interface SpecCommitInput {
  root: string;
  /** The spec's path in the repository, and its new text. */
  path: string;
  text: string;
  /** The commit message; its first line is the pull request's title. */
  message: string;
  /** The pull request's description. */
  description: string;
  /** Commit on a new branch of this name instead of the current one. */
  branch?: string;
  /** Push the branch to this remote afterwards. */
  push?: string;
  pullRequest?: PullRequestOptions;
  /** The command's name, for progress lines. */
  command: string;
  out: (line: string) => void;
}

export interface SpecCommitResult {
  commit: string;
  branch: string;
  /** The pull request's web address, when one was opened. */
  pullRequest?: string;
}

export async function commitSpec(input: SpecCommitInput): Promise<SpecCommitResult> {
  const { command, out } = input;
  if (input.pullRequest && !(input.push && input.branch)) {
    throw new SpecCommitError('a pull request needs a new branch (--branch) pushed to a remote (--push)');
  }
  const git = simpleGit(input.root);
  const startedOn = (await git.revparse(['--abbrev-ref', 'HEAD'])).trim();
  if (input.branch) await git.checkoutLocalBranch(input.branch);
  await writeFile(join(input.root, input.path), input.text);
  await git.add(input.path);
  const committed = await git.commit(input.message, [input.path]);
  const branch = (await git.revparse(['--abbrev-ref', 'HEAD'])).trim();
  out(`${command}: committed ${committed.commit} on ${branch}: ${input.path}`);
  if (input.push) {
    await git.push(input.push, branch, ['--set-upstream']);
    out(
      `${command}: pushed ${branch} to ${input.push}${input.pullRequest ? '' : '; open a pull request from it'}`,
    );
  }
  const commit = (await git.revparse(['HEAD'])).trim();
  if (!input.push || !input.pullRequest) return { commit, branch };
  const remoteUrl = (await git.remote(['get-url', input.push])) || '';
  const repository = input.pullRequest.repository ?? repositoryOfRemote(remoteUrl);
  if (!repository) {
    throw new SpecCommitError(
      `cannot tell owner/name from the URL of remote ${input.push}: name it with --pr-repository`,
    );
  }
  try {
    const pullRequest = await openPullRequest(
      { ...input.pullRequest, repository },
      { title: input.message.split('\n')[0] ?? '', body: input.description, head: branch, base: startedOn },
    );
    out(`${command}: opened ${pullRequest}`);
    return { commit, branch, pullRequest };
  } catch (error) {
    if (error instanceof PullRequestError) {
      throw new SpecCommitError(
        `committed and pushed ${branch}, but the pull request was not opened: ${error.message}`,
      );
    }
    throw error;
  }
}
