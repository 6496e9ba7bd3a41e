/**
 * How the worker proves itself to deployments' repositories, and how that proof reaches Git:
 * never on a command line (`ps` shows every process's arguments to every user of the machine),
 * never in a URL, a cache path or a message. Git gets the token as configuration in its
 * environment (`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`), readable only by this
 * user, and the SSH key as a file name in `GIT_SSH_COMMAND`.
 */
import { resolve } from 'node:path';
import type { RepositoryLocation } from './repository-url.ts';

/** Credentials for every repository this worker fetches from; all optional. */
export interface GitCredentials {
  /** Token for https repositories, sent as the password of HTTP Basic auth. */
  token?: string;
  /** User name sent with the token; default {@link DEFAULT_GIT_USERNAME}. */
  username?: string;
  /** Private key file for ssh:// and `git@host:path` repositories. */
  sshKeyPath?: string;
  /** known_hosts file; given, host keys are checked strictly against it. */
  knownHostsPath?: string;
}

/** What GitHub expects beside an installation or fine-grained token; GitLab and Gitea accept any name. */
export const DEFAULT_GIT_USERNAME = 'x-access-token';

/**
 * Credentials from `MODELSHIP_GIT_TOKEN` (with `MODELSHIP_GIT_USERNAME`), `MODELSHIP_GIT_SSH_KEY`
 * and `MODELSHIP_GIT_KNOWN_HOSTS`; blank values count as unset, file paths resolve against the
 * working directory.
 */
export function gitCredentialsFromEnv(env: NodeJS.ProcessEnv): GitCredentials {
  const value = (name: string) => {
    const text = env[name]?.trim();
    return text ? text : undefined;
  };
  const token = value('MODELSHIP_GIT_TOKEN');
  const username = value('MODELSHIP_GIT_USERNAME');
  const sshKeyPath = value('MODELSHIP_GIT_SSH_KEY');
  const knownHostsPath = value('MODELSHIP_GIT_KNOWN_HOSTS');
  return {
    ...(token ? { token } : {}),
    ...(username ? { username } : {}),
    ...(sshKeyPath ? { sshKeyPath: resolve(sshKeyPath) } : {}),
    ...(knownHostsPath ? { knownHostsPath: resolve(knownHostsPath) } : {}),
  };
}

function basicAuthorization(credentials: GitCredentials, token: string): string {
  return Buffer.from(`${credentials.username ?? DEFAULT_GIT_USERNAME}:${token}`).toString('base64');
}

/**
 * Whether the token may be sent to `location`: over https, or over plain http only to this
 * machine (the tests' server), so that it never crosses a network in clear text.
 */
export function mayReceiveToken(location: RepositoryLocation): boolean {
  if (location.transport === 'https') return true;
  return location.transport === 'http' && ['127.0.0.1', '[::1]', 'localhost'].includes(location.host ?? '');
}

/**
 * Git configuration that authenticates to `location`. The header is scoped to the repository's
 * origin, and redirects are refused while it is set: Git would otherwise repeat the header to
 * whichever host a redirect names. A moved repository then fails, naming its URL, until the
 * deployment names the new one.
 */
export function authConfig(credentials: GitCredentials, location: RepositoryLocation): [string, string][] {
  if (!credentials.token || !mayReceiveToken(location)) return [];
  const origin = new URL(location.url).origin;
  return [
    [
      `http.${origin}/.extraHeader`,
      `Authorization: Basic ${basicAuthorization(credentials, credentials.token)}`,
    ],
    ['http.followRedirects', 'false'],
  ];
}

/** `'…'` for a POSIX shell: Git runs `GIT_SSH_COMMAND` through `sh -c`. */
function shellQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `GIT_SSH_COMMAND`: never prompts (BatchMode), gives up on a dead host, offers only the
 * configured key, and with a known_hosts file accepts only the host keys in it. Without one, ssh
 * uses the user's known hosts and, in batch mode, refuses a host it has never seen.
 */
export function sshCommand(credentials: GitCredentials): string {
  const options = [
    'ssh',
    '-o BatchMode=yes',
    '-o ConnectTimeout=30',
    '-o ServerAliveInterval=15',
    '-o ServerAliveCountMax=4',
  ];
  if (credentials.sshKeyPath) {
    options.push(`-i ${shellQuoted(credentials.sshKeyPath)}`, '-o IdentitiesOnly=yes');
  }
  if (credentials.knownHostsPath) {
    options.push(
      `-o UserKnownHostsFile=${shellQuoted(credentials.knownHostsPath)}`,
      '-o StrictHostKeyChecking=yes',
    );
  }
  return options.join(' ');
}

/**
 * Removes every form in which these credentials could appear in text (the token, the encoded
 * Basic value) and the password part of any URL, for messages built from Git's output.
 */
export function redactor(credentials: GitCredentials): (text: string) => string {
  const secrets = credentials.token
    ? [credentials.token, basicAuthorization(credentials, credentials.token)].filter(
        (secret) => secret.length >= 4,
      )
    : [];
  return (text) => {
    let redacted = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/@\s:'"]*):[^/@\s'"]*@/gi, '$1:***@');
    for (const secret of secrets) redacted = redacted.split(secret).join('***');
    return redacted;
  };
}
