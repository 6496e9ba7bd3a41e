/**
 * The flags `promote` and `revert` share: where the repository is, where the commit goes
 * (a branch, a push, a pull request through the host's API), dry run and JSON; and which of
 * their errors are answers for the user rather than crashes.
 */
import { resolve } from 'node:path';
import { AuditStoreError, AuditStoreNotFoundError } from '../audit/store.ts';
import type { CommitPlacement } from '../gitops/spec-commit.ts';
import { UntrustedAuditLogError } from '../release/verified-records.ts';
import { CliError } from './command.ts';

export const SPEC_CHANGE_FLAGS = {
  repo: { type: 'string' },
  'specs-dir': { type: 'string' },
  branch: { type: 'string' },
  push: { type: 'string' },
  'open-pr': { type: 'boolean' },
  'pr-api': { type: 'string' },
  'pr-repository': { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const SPEC_CHANGE_USAGE = `  --repo DIR        the repository's working tree (default: the current directory)
  --specs-dir DIR   where specs are, relative to the repository (default specs)
  --branch NAME     commit on a new branch NAME instead of the current branch
  --push REMOTE     push the branch to REMOTE afterwards, to open a pull request from it
  --open-pr         then open that pull request (into the branch the command started from) through
                    the host's API: a GitHub-style POST /repos/{owner}/{name}/pulls, token from
                    $GITHUB_TOKEN or $MODELSHIP_GIT_TOKEN; needs --branch and --push
  --pr-api URL      the API (default $MODELSHIP_GIT_API, else https://api.github.com)
  --pr-repository OWNER/NAME   default: read from the remote's URL
  --dry-run         judge and say what would change; change nothing
  --json            print the result as JSON (progress goes to stderr)`;

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface SpecChangeSettings extends CommitPlacement {
  root: string;
  specsDir: string;
  dryRun: boolean;
  json: boolean;
  /** Progress lines: stdout, or stderr when the result is printed as JSON. */
  out: (line: string) => void;
}

/** The settings the flags give; a missing token for --open-pr is refused before anything is done. */
export function specChangeSettings(values: Values, command: string): SpecChangeSettings {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const json = values.json === true;
  const settings: SpecChangeSettings = {
    root: resolve(text('repo') ?? '.'),
    specsDir: text('specs-dir') ?? 'specs',
    dryRun: values['dry-run'] === true,
    json,
    out: (line) => (json ? console.error(line) : console.log(line)),
    ...(text('branch') ? { branch: text('branch') as string } : {}),
    ...(text('push') ? { push: text('push') as string } : {}),
  };
  if (values['open-pr'] === true) {
    const token = process.env.GITHUB_TOKEN?.trim() || process.env.MODELSHIP_GIT_TOKEN?.trim();
    if (!token)
      throw new CliError(`${command}: --open-pr needs a token in $GITHUB_TOKEN or $MODELSHIP_GIT_TOKEN`);
    const repository = text('pr-repository');
    settings.pullRequest = {
      api: text('pr-api') ?? (process.env.MODELSHIP_GIT_API?.trim() || 'https://api.github.com'),
      token,
      ...(repository ? { repository } : {}),
    };
  }
  return settings;
}

/** Errors that are an answer (exit 1 with one line), given the command's own refusal type. */
export function isAnswer(error: unknown, refusal: new (...args: never[]) => Error): error is Error {
  return (
    error instanceof refusal ||
    error instanceof UntrustedAuditLogError ||
    error instanceof AuditStoreNotFoundError ||
    error instanceof AuditStoreError
  );
}
