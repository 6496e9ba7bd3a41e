/**
 * Where the admin API may read bundles from. A load names a directory; left unchecked, a caller
 * holding the admin token could have the server read any file it can (a symlinked `manifest.json`
 * quoted back in a parse error, a `model.onnx` pointing at a secret hashed into a digest
 * mismatch). So the directory must lie inside one of the configured roots, and every file read
 * from a bundle inside that bundle, both after symlinks are resolved (`realpath`): `..`, an
 * absolute path elsewhere, or a symlink pointing out are all refused, and nothing outside is
 * opened. The resolved paths are the ones read, so a symlink cannot be swapped in between the
 * check and the read by anyone but a writer of the root itself.
 *
 * Messages name the path the caller gave and the roots (configuration), never anything learnt
 * from the file system outside them.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A bundle path the server will not read; the message says why, without looking outside. */
export class BundlePathError extends Error {
  override readonly name = 'BundlePathError';
  constructor(
    /** 403 for a path outside the roots, 422 for one inside that is not a usable directory. */
    readonly status: 403 | 422,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `path` is `dir` or lies below it; both absolute and normalised. */
function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function real(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

/**
 * The real path of the bundle directory `requested` names, checked to lie inside one of `roots`.
 * A relative `requested` is taken relative to the first root. Without roots (library use; the
 * `modelship serve` command always sets one), any directory is accepted, still resolved, so the
 * files of the bundle are confined to it.
 */
export async function resolveBundleDir(
  roots: readonly string[] | undefined,
  requested: string,
): Promise<string> {
  if (requested.includes('\0')) throw new BundlePathError(422, 'bundlePath must not contain a NUL character');
  if (roots === undefined || roots.length === 0) {
    const dir = await real(resolve(requested));
    if (dir === undefined) throw new BundlePathError(422, `no bundle directory at ${requested}`);
    return dir;
  }
  const named = resolve(roots[0] as string, requested);
  const where = `the bundle root${roots.length > 1 ? 's' : ''} (${roots.join(', ')})`;
  const outside = new BundlePathError(403, `bundlePath ${requested} is outside ${where}`);
  const realRoots = (await Promise.all(roots.map(real))).filter((root) => root !== undefined);
  // Lexically first, against each root as given and as resolved: a path that names somewhere
  // else is refused without touching the file system there.
  const candidates = [...roots.map((root) => resolve(root)), ...realRoots];
  if (!candidates.some((root) => isInside(root, named))) throw outside;
  const dir = await real(named);
  if (dir === undefined) throw new BundlePathError(422, `no bundle directory at ${requested} in ${where}`);
  if (!realRoots.some((root) => isInside(root, dir))) throw outside;
  return dir;
}

/**
 * The real path of file `name` of the bundle directory `dir` (itself a real path), or undefined
 * when the file does not exist; throws BundlePathError when it resolves outside the bundle.
 */
export async function bundleFile(dir: string, name: string): Promise<string | undefined> {
  const named = resolve(dir, name);
  if (!isInside(dir, named)) throw new BundlePathError(422, `bundle file ${name} is outside the bundle`);
  const path = await real(named);
  if (path === undefined) return undefined;
  if (!isInside(dir, path)) {
    throw new BundlePathError(422, `bundle file ${name} is a link to outside the bundle directory ${dir}`);
  }
  return path;
}
