/**
 * The digests of a model directory as OpenSSF Model Signing v1.0 defines them ("files"
 * serialization, sha256): one SHA-256 per regular file, named by its POSIX path relative to the
 * directory, sorted, and a root digest = SHA-256 over the concatenated raw 32-byte file digests
 * in that order.
 *
 * The order is `model_signing`'s: paths compared component by component (Python sorts
 * `PurePosixPath`s as tuples of parts), each component by code point, so `a/b` sorts before
 * `a-b/c` although `-` < `/` in a plain string comparison.
 *
 * Top-level `*.sig` files are signature files: they are never part of the digests, so that
 * several signers can add their signatures next to the model. Symbolic links, special files
 * (FIFOs, sockets, devices) and names that are not plain UTF-8 POSIX names are refused rather
 * than skipped: a signature must cover everything that sits in the directory.
 */
import { createHash } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** One file of a model directory. */
export interface ModelFileDigest {
  /** Relative POSIX path, e.g. `model.onnx` or `weights/layer1.bin`. */
  path: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  sha256: string;
  sizeBytes: number;
}

export interface ModelDirectoryDigest {
  /** Every file except top-level signature files, in Model Signing order. */
  files: ModelFileDigest[];
  /** Hex SHA-256 over the files' raw digests, in order: the in-toto subject's digest. */
  rootDigest: string;
}

/** Something in a model directory that cannot be part of a signature. */
export interface RefusedPath {
  path: string;
  reason: string;
}

/** What a walk of a model directory found. */
export interface ModelDirectoryContents {
  files: ModelFileDigest[];
  /** Top-level `*.sig` regular files, sorted. */
  signatureFiles: string[];
  refused: RefusedPath[];
}

/** A model directory that cannot be signed or verified as it stands. */
export class ModelDirectoryError extends Error {
  override name = 'ModelDirectoryError';
  constructor(
    message: string,
    readonly refused: RefusedPath[] = [],
  ) {
    super(message);
  }
}

export const SIGNATURE_FILE_SUFFIX = '.sig';

/** True for a top-level `<name>.sig` path: a signature file, excluded from the digests. */
export function isSignatureFileName(relativePath: string): boolean {
  return (
    !relativePath.includes('/') &&
    relativePath.endsWith(SIGNATURE_FILE_SUFFIX) &&
    relativePath.length > SIGNATURE_FILE_SUFFIX.length
  );
}

/**
 * Digests every file of a model directory. Throws `ModelDirectoryError` naming each symbolic
 * link, special file or unusable name, and when the directory holds no file at all.
 */
export async function digestModelDirectory(dir: string): Promise<ModelDirectoryDigest> {
  const contents = await inspectModelDirectory(dir);
  if (contents.refused.length > 0) {
    const list = contents.refused.map((r) => `  ${r.path}: ${r.reason}`).join('\n');
    throw new ModelDirectoryError(
      `${dir}: cannot sign or verify this model directory:\n${list}`,
      contents.refused,
    );
  }
  if (contents.files.length === 0)
    throw new ModelDirectoryError(`${dir}: no files to sign in this directory`);
  return { files: contents.files, rootDigest: rootDigestOf(contents.files.map((f) => f.sha256)) };
}

/**
 * Walks a model directory: digests of the regular files, the signature files beside them, and
 * what had to be refused. Throws only when `dir` itself is not a readable directory.
 */
export async function inspectModelDirectory(dir: string): Promise<ModelDirectoryContents> {
  const root = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new ModelDirectoryError(`${dir}: cannot read the model directory (${error.code ?? error.message})`);
  });
  if (root.isSymbolicLink()) {
    throw new ModelDirectoryError(`${dir}: is a symbolic link; give the directory it points to`);
  }
  if (!root.isDirectory()) throw new ModelDirectoryError(`${dir}: not a directory`);

  const contents: ModelDirectoryContents = { files: [], signatureFiles: [], refused: [] };
  await walk(dir, '', contents);
  contents.files.sort((a, b) => compareModelPaths(a.path, b.path));
  contents.signatureFiles.sort(compareModelPaths);
  contents.refused.sort((a, b) => compareModelPaths(a.path, b.path));
  return contents;
}

/** The model directory a path names: itself when a directory, its parent when a file. */
export async function modelDirectoryOf(modelPath: string): Promise<string> {
  const absolute = resolve(modelPath);
  const stats = await lstat(absolute).catch((error: NodeJS.ErrnoException) => {
    throw new ModelDirectoryError(`${modelPath}: cannot read (${error.code ?? error.message})`);
  });
  if (stats.isSymbolicLink()) {
    throw new ModelDirectoryError(`${modelPath}: is a symbolic link; give the real path of the model`);
  }
  if (stats.isDirectory()) return absolute;
  if (stats.isFile()) return dirname(absolute);
  throw new ModelDirectoryError(`${modelPath}: neither a directory nor a regular file`);
}

/** SHA-256 over the raw bytes of hex digests, in the order given. */
export function rootDigestOf(hexDigests: readonly string[]): string {
  const hash = createHash('sha256');
  for (const digest of hexDigests) hash.update(Buffer.from(digest, 'hex'));
  return hash.digest('hex');
}

/** `model_signing`'s order: component by component, each by code point (UTF-8 byte order). */
export function compareModelPaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = Buffer.compare(Buffer.from(left[i] ?? '', 'utf8'), Buffer.from(right[i] ?? '', 'utf8'));
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

/**
 * Why a relative path is not a plain POSIX name (null when it is): no absolute paths, no empty,
 * `.` or `..` components, no backslashes or control characters. Applied to directory entries
 * and to every path a signature lists, so a signature cannot name a file outside the model.
 */
export function unsafeModelPathReason(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.startsWith('/')) return 'absolute path';
  for (const part of path.split('/')) {
    if (part === '') return 'empty path component (doubled or trailing "/")';
    if (part === '.' || part === '..') return `"${part}" path component`;
    const reason = unsafeNameReason(part);
    if (reason) return reason;
  }
  return null;
}

function unsafeNameReason(name: string): string | null {
  if (name.includes('\\')) return 'backslash in name (not a POSIX path)';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character in name';
  return null;
}

async function walk(dir: string, prefix: string, contents: ModelDirectoryContents): Promise<void> {
  // Names as bytes: a name that is not valid UTF-8 cannot be written into a JSON signature
  // faithfully, so it is refused instead of being silently replaced.
  const entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  for (const entry of entries as Dirent<Buffer>[]) {
    const name = entry.name.toString('utf8');
    const relative = prefix === '' ? name : `${prefix}/${name}`;
    if (!Buffer.from(name, 'utf8').equals(entry.name)) {
      contents.refused.push({ path: relative, reason: 'name is not valid UTF-8' });
      continue;
    }
    const nameProblem = unsafeNameReason(name);
    if (nameProblem) {
      contents.refused.push({ path: relative, reason: nameProblem });
      continue;
    }
    const absolute = join(dir, name);
    if (entry.isSymbolicLink()) {
      contents.refused.push({ path: relative, reason: 'symbolic link (not allowed in a signed model)' });
    } else if (entry.isDirectory()) {
      await walk(absolute, relative, contents);
    } else if (!entry.isFile()) {
      contents.refused.push({ path: relative, reason: 'special file (FIFO, socket or device)' });
    } else if (isSignatureFileName(relative)) {
      contents.signatureFiles.push(relative);
    } else {
      const digest = await digestRegularFile(absolute);
      if ('reason' in digest) contents.refused.push({ path: relative, reason: digest.reason });
      else contents.files.push({ path: relative, ...digest });
    }
  }
}

/**
 * Hashes one file. Opened with O_NOFOLLOW and checked with fstat, so a file swapped for a link
 * between the directory listing and the read is refused instead of followed.
 */
async function digestRegularFile(
  path: string,
): Promise<{ sha256: string; sizeBytes: number } | { reason: string }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return { reason: `cannot open (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    if (!(await handle.stat()).isFile()) return { reason: 'not a regular file' };
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      hash.update(chunk as Buffer);
      sizeBytes += (chunk as Buffer).length;
    }
    return { sha256: hash.digest('hex'), sizeBytes };
  } finally {
    await handle.close();
  }
}
