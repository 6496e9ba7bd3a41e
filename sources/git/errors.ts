/**
 * Why a commit of a repository could not be had, as a closed list of kinds the activities turn
 * into failures, and the reading of Git's messages that decides the kind. Git has no machine
 * readable error codes, so its stderr is matched against the phrases its transports print (git
 * 2.3x, curl, OpenSSH, and the messages GitHub and GitLab send); an unknown phrase is
 * `git-failed`, which is retried, so a phrase missing here costs retries, not a wrong verdict.
 */

import { GitCommandError } from './git-process.ts';

/**
 * - `invalid-url`, `invalid-commit`: refused before Git ran (not a form this module fetches
 *   from; not a full commit id);
 * - `repository-not-found`, `commit-not-found`: the server answered, and what was asked is not
 *   there;
 * - `refused-content`: the commit's objects or paths fail Git's checks (a hostile or corrupt
 *   repository);
 * - `auth-failed`: credentials missing, wrong, or the ssh host key unknown;
 * - `unreachable`: the network or the server failed, or stalled;
 * - `git-failed`: anything else Git reported.
 */
export type GitSourceErrorKind =
  | 'invalid-url'
  | 'invalid-commit'
  | 'repository-not-found'
  | 'commit-not-found'
  | 'refused-content'
  | 'auth-failed'
  | 'unreachable'
  | 'git-failed';

/**
 * Whether trying again later can help. Authentication is retried: a token being rotated or a key
 * being installed is fixed outside the run, and the activity's retry policy bounds the wait.
 */
const RETRYABLE: Record<GitSourceErrorKind, boolean> = {
  'invalid-url': false,
  'invalid-commit': false,
  'repository-not-found': false,
  'commit-not-found': false,
  'refused-content': false,
  'auth-failed': true,
  unreachable: true,
  'git-failed': true,
};

/** A commit of a repository that could not be had; the message and `url` never hold credentials. */
export class GitSourceError extends Error {
  override readonly name = 'GitSourceError';
  readonly retryable: boolean;

  constructor(
    readonly kind: GitSourceErrorKind,
    message: string,
    /** The repository as messages name it: without credentials. */
    readonly url: string,
  ) {
    super(message);
    this.retryable = RETRYABLE[kind];
  }
}

/** Phrases in Git's stderr, first match wins: the specific ones come before the generic ones. */
const PHRASES: readonly [GitSourceErrorKind, RegExp][] = [
  [
    'auth-failed',
    /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]\b|Permission denied \(|Permission denied, please try again|Host key verification failed|HTTP Basic: Access denied|Invalid username or (password|token)/i,
  ],
  [
    'repository-not-found',
    /repository '[^']*' not found|does not appear to be a git repository|Repository not found|returned error: (404|410)\b|could not be found or you don't have permission|returned error: 30[1278]\b/i,
  ],
  ['refused-content', /fsck error|invalid path '/i],
  [
    'unreachable',
    /Could not resolve host|Could not resolve hostname|Temporary failure in name resolution|Couldn't connect to server|Connection refused|Connection timed out|Operation timed out|timed out after|Connection reset|Connection closed|Network is unreachable|No route to host|returned error: (5\d\d|408|429)\b|early EOF|remote end hung up|RPC failed|transfer closed|Empty reply from server|unexpected disconnect|\bSSL\b|\bTLS\b|gnutls/i,
  ],
];

/** The kind Git's stderr names, or undefined when it names none of them. */
export function kindOfGitFailure(stderr: string): GitSourceErrorKind | undefined {
  return PHRASES.find(([, pattern]) => pattern.test(stderr))?.[0];
}

/**
 * The part of Git's stderr worth a person's attention: its `fatal:`/`error:` lines and the ssh
 * client's complaints (or the last lines when it printed none), on one line and bounded.
 */
export function gitSaid(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  const telling = lines.filter((line) => /^(fatal|error|ssh|remote: (fatal|error)|ERROR)\b/i.test(line));
  const chosen = (telling.length > 0 ? telling : lines.slice(-3)).join(' / ');
  return chosen.length > 600 ? `${chosen.slice(0, 600)}…` : chosen;
}

/** What to do about a kind, where the message can say more than Git did. */
function hint(kind: GitSourceErrorKind, stderr: string): string {
  if (/returned error: 30[1278]\b/.test(stderr)) {
    return ' (the server redirects elsewhere; redirects are not followed while a token is set: name the new URL)';
  }
  if (kind === 'auth-failed')
    return ' (the worker authenticates with MODELSHIP_GIT_TOKEN or MODELSHIP_GIT_SSH_KEY)';
  return '';
}

/**
 * Git's failure while `doing` something with the repository `display` names as a source error, its message passed
 * through `redact`; anything but a Git failure is returned as it is.
 */
export function sourceError(
  display: string,
  doing: string,
  error: unknown,
  redact: (text: string) => string,
): unknown {
  if (!(error instanceof GitCommandError)) return error;
  const kind = error.stalled ? 'unreachable' : (kindOfGitFailure(error.stderr) ?? 'git-failed');
  const said = error.stalled ? 'no progress from the server for too long' : redact(gitSaid(error.stderr));
  return new GitSourceError(
    kind,
    `${doing} ${display} failed: ${kind.replace(/-/g, ' ')}${hint(kind, error.stderr)}: ${said}`,
    display,
  );
}
