/**
 * Which repositories and commits Git is ever asked for. A deployment's repository and commit
 * arrive from outside (a CLI flag, a CI variable, a workflow input), so both are checked here,
 * before Git runs, against the few forms this module fetches from:
 *
 * - `https://host/path` (and `http://`, meant for tests and private networks);
 * - `ssh://[user@]host[:port]/path` and scp-like `[user@]host:path`;
 * - `file:///absolute/path` and `/absolute/path`: a repository on the worker's own disk, the
 *   single-machine case (`npm start`), refused when the caller turns local repositories off.
 *
 * Everything else is refused: Git's remote helpers (`ext::sh -c …`, `fd::`), anything that
 * starts with `-` (it would become an option), control characters (a newline splits a config
 * value or a protocol line), relative paths (they mean nothing on a worker), and credentials
 * inside the URL (they would travel into workflow histories and the audit log; the worker
 * takes them from its environment). A commit must be a full object id: a branch, a tag, `HEAD`
 * or a short id can mean a different commit tomorrow.
 */
import { createHash } from 'node:crypto';
import { basename, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitSourceError } from './errors.ts';

/** A repository this module may fetch from, in the one form Git is given and cache paths derive from. */
export interface RepositoryLocation {
  transport: 'https' | 'http' | 'ssh' | 'file';
  /** What Git fetches from: a normalised URL, or an absolute path for `file`. */
  url: string;
  /** How messages name the repository (never holds credentials: URLs with them are refused). */
  display: string;
  /** Host name for http(s) and ssh, lower-cased; bracketed for IPv6. */
  host?: string;
  /**
   * File name of the repository's cache entries: a readable hint and a hash of `url`, so that
   * two spellings Git treats differently never share a cache.
   */
  key: string;
}

const MAX_URL_LENGTH = 2048;
/** Host names and bracketed IP addresses; a leading `-` would reach ssh as an option. */
const HOST = /^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])$/i;
/** Path characters of ssh repositories; Git passes the path to the remote shell. */
const SSH_PATH = /^[A-Za-z0-9._~/+@-]+$/;
const SSH_USER = /^[A-Za-z0-9._-]+$/;

/** The input as a message may show it: bounded, control characters escaped, any user info cut out. */
export function displayOfInput(input: string): string {
  const cut = input.length > 200 ? `${input.slice(0, 200)}…` : input;
  const withoutUserInfo = cut.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1');
  return JSON.stringify(withoutUserInfo).slice(1, -1);
}

function refuse(input: string, why: string): never {
  const shown = displayOfInput(input);
  throw new GitSourceError('invalid-url', `refusing repository "${shown}": ${why}`, shown);
}

function keyOf(url: string, hint: string): string {
  const readable = hint
    .toLowerCase()
    .replace(/\.git$/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 48);
  const digest = createHash('sha256').update(url).digest('hex').slice(0, 20);
  return readable ? `${readable}-${digest}` : digest;
}

function lastSegment(path: string): string {
  return path.split('/').filter(Boolean).at(-1) ?? '';
}

function httpLocation(input: string, scheme: 'https' | 'http'): RepositoryLocation {
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    return refuse(input, 'not a valid URL');
  }
  if (parsed.username || parsed.password) {
    refuse(input, 'credentials do not belong in the URL; give the worker MODELSHIP_GIT_TOKEN');
  }
  if (parsed.search || parsed.hash) refuse(input, 'a repository URL has no query or fragment');
  if (!HOST.test(parsed.hostname)) refuse(input, 'not a host name');
  const path = parsed.pathname.replace(/\/+$/, '');
  if (!path) refuse(input, 'no repository path');
  const url = `${scheme}://${parsed.host}${path}`;
  return {
    transport: scheme,
    url,
    display: url,
    host: parsed.hostname,
    key: keyOf(url, `${parsed.hostname}-${lastSegment(path)}`),
  };
}

function sshLocation(
  input: string,
  user: string | undefined,
  host: string,
  port: string | undefined,
  path: string,
  scpLike: boolean,
): RepositoryLocation {
  if (user !== undefined && !SSH_USER.test(user)) refuse(input, 'not an ssh user name');
  if (!HOST.test(host)) refuse(input, 'not a host name');
  if (!SSH_PATH.test(path) || path.startsWith('-') || path.split('/').some((segment) => segment === '..')) {
    refuse(input, 'the path holds characters an ssh repository path may not');
  }
  const lowerHost = host.toLowerCase();
  const who = user ? `${user}@` : '';
  const url = scpLike
    ? `${who}${lowerHost}:${path}`
    : `ssh://${who}${lowerHost}${port ? `:${port}` : ''}${path.startsWith('/') ? '' : '/'}${path}`;
  return {
    transport: 'ssh',
    url,
    display: url,
    host: lowerHost,
    key: keyOf(url, `${lowerHost}-${lastSegment(path)}`),
  };
}

function localLocation(path: string): RepositoryLocation {
  const absolute = resolve(path);
  return {
    transport: 'file',
    url: absolute,
    display: absolute,
    key: keyOf(`file://${absolute}`, `local-${basename(absolute)}`),
  };
}

/**
 * The repository `input` names, or a `GitSourceError` of kind `invalid-url` saying why it is
 * refused. `allowLocal: false` refuses paths and file:// URLs (a worker that should read only
 * from repository servers).
 */
export function parseRepositoryUrl(
  input: string,
  options: { allowLocal?: boolean } = {},
): RepositoryLocation {
  if (typeof input !== 'string' || input.trim() === '') refuse(String(input), 'no repository named');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(input))
    refuse(input, 'control characters (a newline, a NUL) are not allowed');
  const text = input.trim();
  if (text.length > MAX_URL_LENGTH) refuse(input, `longer than ${MAX_URL_LENGTH} characters`);
  if (text.startsWith('-')) refuse(input, 'it would reach Git as an option');
  if (/^[a-z][a-z0-9+.-]*::/i.test(text))
    refuse(input, "Git's remote-helper syntax (transport::address) is not allowed");
  const local = () => {
    if (options.allowLocal === false)
      refuse(input, 'this worker fetches only from repository servers, not local paths');
  };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'https' || scheme === 'http') return httpLocation(text, scheme);
  if (scheme === 'ssh') {
    const match = /^ssh:\/\/(?:([^@/]*)@)?([^/:]+|\[[^\]]+\])(?::(\d{1,5}))?(\/.*)$/i.exec(text);
    if (!match?.[2] || !match[4]) return refuse(input, 'not an ssh://[user@]host[:port]/path URL');
    if (match[1]?.includes(':'))
      refuse(input, 'credentials do not belong in the URL; give the worker MODELSHIP_GIT_SSH_KEY');
    return sshLocation(input, match[1], match[2], match[3], match[4], false);
  }
  if (scheme === 'file') {
    local();
    let path: string;
    try {
      path = fileURLToPath(text);
    } catch {
      return refuse(input, 'a file:// URL names a path on this machine: file:///absolute/path');
    }
    return localLocation(path);
  }
  if (scheme !== undefined)
    refuse(input, `${scheme}:// is not supported (https, ssh, file or an absolute path)`);
  if (isAbsolute(text)) {
    local();
    return localLocation(text);
  }
  // Git's scp-like form: a colon before any slash.
  const scp = /^(?:([^@/:]+)@)?([^/:@]+|\[[^\]]+\]):(.+)$/.exec(text);
  if (scp?.[2] && scp[3]) return sshLocation(input, scp[1], scp[2], undefined, scp[3], true);
  return refuse(input, 'relative paths mean nothing to a worker: give a URL or an absolute path');
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `commit` as a lower-case full object id, or a `GitSourceError` of kind `invalid-commit`. */
export function parseCommit(commit: string, location: RepositoryLocation): string {
  const id = typeof commit === 'string' ? commit.trim().toLowerCase() : '';
  if (!COMMIT.test(id) || /^0+$/.test(id)) {
    throw new GitSourceError(
      'invalid-commit',
      `refusing commit "${displayOfInput(String(commit))}" of ${location.display}: a commit is named by its full id ` +
        '(40 hex digits, or 64 in a SHA-256 repository); branches, tags, HEAD and short ids can move',
      location.display,
    );
  }
  return id;
}
