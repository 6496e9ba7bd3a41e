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

/** Where a spec change goes: the current branch or a new one, pushed, proposed as a pull request. */
export interface CommitPlacement {
  /** Commit on a new branch of this name instead of the current one. */
  branch?: string;
  /** Push the branch to this remote afterwards. */
  push?: string;
  pullRequest?: PullRequestOptions;
}

export interface SpecCommitInput {
  root: string;
  /** The spec's path in the repository, and its new text. */
  path: string;
  text: string;
  /** The commit message; its first line is the pull request's title. */
  message: string;
  /** The pull request's description. */
  description: string;
  placement: CommitPlacement;
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
  const { branch: newBranch, push, pullRequest } = input.placement;
  if (pullRequest && !(push && newBranch)) {
    throw new SpecCommitError('a pull request needs a new branch (--branch) pushed to a remote (--push)');
  }
  const git = simpleGit(input.root);
  const startedOn = (await git.revparse(['--abbrev-ref', 'HEAD'])).trim();
  if (newBranch) await git.checkoutLocalBranch(newBranch);
  await writeFile(join(input.root, input.path), input.text);
  await git.add(input.path);
  const committed = await git.commit(input.message, [input.path]);
  const branch = (await git.revparse(['--abbrev-ref', 'HEAD'])).trim();
  out(`${command}: committed ${committed.commit} on ${branch}: ${input.path}`);
  if (push) {
    await git.push(push, branch, ['--set-upstream']);
    out(`${command}: pushed ${branch} to ${push}${pullRequest ? '' : '; open a pull request from it'}`);
  }
  const commit = (await git.revparse(['HEAD'])).trim();
  if (!push || !pullRequest) return { commit, branch };
  const remoteUrl = (await git.remote(['get-url', push])) || '';
  const repository = pullRequest.repository ?? repositoryOfRemote(remoteUrl);
  if (!repository) {
    throw new SpecCommitError(
      `cannot tell owner/name from the URL of remote ${push}: name it with --pr-repository`,
    );
  }
  try {
    const opened = await openPullRequest(
      { ...pullRequest, repository },
      { title: input.message.split('\n')[0] ?? '', body: input.description, head: branch, base: startedOn },
    );
    out(`${command}: opened ${opened}`);
    return { commit, branch, pullRequest: opened };
  } catch (error) {
    if (error instanceof PullRequestError) {
      throw new SpecCommitError(
        `committed and pushed ${branch}, but the pull request was not opened: ${error.message}`,
      );
    }
    throw error;
  }
}
