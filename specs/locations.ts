/**
 * Where a spec may point for files: paths inside the repository (so a commit pins them) and, for
 * the model only, `file://`, `https://` and `oci://` URIs. Pure string work (POSIX semantics, no
 * `node:path`), since specs are written with `/` and this code may run in the workflow sandbox.
 */

/** URI schemes a model source may use, as written in specs. */
const SUPPORTED_SCHEMES = ['file://', 'https://', 'oci://'] as const;

/** `oci://registry[:port]/repository@sha256:<hex>`: by digest only (a tag can be moved). */
const OCI_REFERENCE =
  /^oci:\/\/[a-z0-9.-]+(?::\d{1,5})?\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*@sha256:[a-f0-9]{64}$/;

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const WINDOWS_DRIVE = /^[a-zA-Z]:[\\/]/;

/**
 * Checks a model source: a repository path or a supported URI. Returns what is wrong, or
 * `undefined`. Files are checked for existence only when `fileExists` is given.
 */
export function checkModelSource(source: string, fileExists?: (path: string) => boolean): string | undefined {
  const scheme = WINDOWS_DRIVE.test(source) ? undefined : SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === undefined) return checkRepoPath(source, fileExists);
  if (scheme === 'https') {
    return /^https:\/\/[^/?#\s]+\/\S+$/i.test(source) ? undefined : 'an https:// URI needs a host and a path';
  }
  if (scheme === 'oci') {
    return OCI_REFERENCE.test(source)
      ? undefined
      : 'an oci:// source is oci://registry/repository@sha256:<64 hex digits> (by digest: a tag can be moved)';
  }
  if (scheme === 'file') {
    const path = fileUriPath(source);
    if (path === undefined) return 'a file:// URI needs an absolute path: file:///path/to/model.onnx';
    return fileExists === undefined || fileExists(path) ? undefined : `no such file: ${path}`;
  }
  return `unsupported URI scheme "${scheme}:"; use ${SUPPORTED_SCHEMES.join(', ')}, or a path relative to the repository root`;
}

/**
 * Checks a path that must name a file in the repository: relative, not climbing out with `..`,
 * and (when `fileExists` is given) present. Returns what is wrong, or `undefined`.
 */
export function checkRepoPath(path: string, fileExists?: (path: string) => boolean): string | undefined {
  if (SCHEME.test(path) && !WINDOWS_DRIVE.test(path)) {
    return 'must be a path relative to the repository root, not a URI';
  }
  if (path.startsWith('/') || path.startsWith('\\') || WINDOWS_DRIVE.test(path)) {
    return 'must be relative to the repository root, not an absolute path';
  }
  const normalized = normalizeRepoPath(path);
  if (normalized === undefined)
    return 'must stay inside the repository: ".." climbs out of the repository root';
  if (normalized === '') return 'must name a file, not the repository root';
  if (fileExists !== undefined && !fileExists(normalized))
    return `no such file in the repository: ${normalized}`;
  return undefined;
}

/** `a/./b/../c` → `a/c`; `undefined` when `..` leaves the root. Backslashes count as separators. */
export function normalizeRepoPath(path: string): string | undefined {
  const parts: string[] = [];
  for (const part of path.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part !== '..') parts.push(part);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts.join('/');
}

/** The local path of `file:///x` or `file://localhost/x`; `undefined` for any other host. */
function fileUriPath(uri: string): string | undefined {
  const match = /^file:\/\/(localhost)?(\/[^?#]*)$/i.exec(uri);
  const path = match?.[2];
  if (path === undefined) return undefined;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
