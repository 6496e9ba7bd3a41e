/**
 * Artifact references as modelship writes them: `oci://host[:port]/path/repo@sha256:<64 hex>`
 * (the scheme is optional when parsing). modelship addresses artifacts only by digest, because a
 * tag can be moved to other bytes after a deployment was decided; a tag is refused with a message
 * that says so.
 *
 * The repository grammar is the distribution spec's: lowercase path components of letters and
 * digits joined by `.`, `_`, `__` or dashes, separated by `/`. The layout store builds paths from
 * repository names, so `assertRepository` is also what keeps them inside its root.
 */
import { type Digest, isDigest } from './digest.ts';
import { OciError } from './errors.ts';

/** A registry host, a repository in it and a manifest digest. */
export interface OciReference {
  /** `host` or `host:port` (a bracketed IPv6 address allowed), without a scheme. */
  host: string;
  /** The repository path, e.g. `modelship/iris`. */
  repository: string;
  digest: Digest;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
/** distribution's limit on a full name (host and repository). */
const MAX_NAME_LENGTH = 255;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const SCHEME = 'oci://';

/** Why a repository name is not one, or undefined when it is. */
export function repositoryProblem(repository: string): string | undefined {
  if (repository.length === 0) return 'is empty';
  if (repository.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  if (!REPOSITORY.test(repository)) {
    return (
      'is not a repository name: lowercase letters and digits, separated by ".", "_", "__" or "-" ' +
      'within a path component and by "/" between components'
    );
  }
  return undefined;
}

/** Throws an `invalid` OciError unless `repository` follows the distribution grammar. */
export function assertRepository(repository: string): void {
  const problem = repositoryProblem(repository);
  if (problem) throw new OciError('invalid', `repository ${JSON.stringify(repository)} ${problem}`);
}

/** Throws an `invalid` OciError unless `digest` is a sha256 digest in OCI form. */
export function assertDigest(digest: string, what = 'digest'): asserts digest is Digest {
  if (!isDigest(digest)) {
    throw new OciError(
      'invalid',
      `${what} ${JSON.stringify(digest)} is not a sha256 digest: sha256:<64 lowercase hex digits>`,
    );
  }
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Throws an `invalid` OciError unless `tag` follows the distribution grammar. */
export function assertTag(tag: string): void {
  if (!TAG.test(tag)) {
    throw new OciError(
      'invalid',
      `tag ${JSON.stringify(tag)} is not a tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
}

/** Parses `oci://host[:port]/repo@sha256:<hex>` or the same without the scheme. */
export function parseReference(text: string): OciReference {
  const fail = (why: string): never => {
    throw new OciError('invalid', `OCI reference ${JSON.stringify(text)}: ${why}`);
  };
  const rest = text.startsWith(SCHEME) ? text.slice(SCHEME.length) : text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) fail('the only scheme is oci://');
  const slash = rest.indexOf('/');
  if (slash <= 0) fail('expected host[:port]/repository@sha256:<digest>');
  const host = rest.slice(0, slash);
  if (!HOST.test(host)) fail(`${JSON.stringify(host)} is not a registry host[:port]`);
  const path = rest.slice(slash + 1);
  const at = path.indexOf('@');
  if (at < 0) {
    const colon = path.lastIndexOf(':');
    if (colon > path.lastIndexOf('/')) {
      fail(
        `${JSON.stringify(path.slice(colon + 1))} is a tag; modelship addresses artifacts only by ` +
          'digest (repository@sha256:<64 hex>), because a tag can move',
      );
    }
    fail('no digest: expected repository@sha256:<64 hex>');
  }
  const repository = path.slice(0, at);
  const digest = path.slice(at + 1);
  if (/:[^/]*$/.test(repository)) {
    fail('a tag and a digest together; give only the digest (repository@sha256:<64 hex>)');
  }
  const problem = repositoryProblem(repository);
  if (problem) fail(`repository ${JSON.stringify(repository)} ${problem}`);
  if (host.length + 1 + repository.length > MAX_NAME_LENGTH) {
    fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (!isDigest(digest)) fail(`${JSON.stringify(digest)} is not a sha256 digest: sha256:<64 lowercase hex>`);
  return { host, repository, digest: digest as Digest };
}

/** Formats a reference; with `scheme: false`, the form docker and skopeo take after `docker://`. */
export function formatReference(reference: OciReference, options: { scheme?: boolean } = {}): string {
  const plain = `${reference.host}/${reference.repository}@${reference.digest}`;
  return options.scheme === false ? plain : `${SCHEME}${plain}`;
}
