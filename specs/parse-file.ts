/**
 * `parseSpec` for a file on disk, with file existence checked against the repository root.
 * Kept apart from `parse.ts` so that the pure pipeline never imports `node:fs`: workflows may
 * use it, and the workflow bundle rejects Node built-ins.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { type ParseSpecResult, parseSpec } from './parse.ts';

/** Options of `parseSpecFile`. */
interface ParseSpecFileOptions {
  /**
   * The repository root that spec paths (`spec.model.source`, `validation.holdout.path`,
   * `extends`) are relative to. Without it, those files are not checked for existence and a spec
   * that extends a base cannot be read.
   */
  repoRoot?: string;
}

/**
 * Reads and parses one spec file; errors name `path` as given. Rejects (with the `fs` error) when
 * the file cannot be read: that is the caller's usage problem, not an error in the spec.
 */
export async function parseSpecFile(
  path: string,
  options: ParseSpecFileOptions = {},
): Promise<ParseSpecResult> {
  const text = await readFile(path, 'utf8');
  const { repoRoot } = options;
  if (repoRoot === undefined) return parseSpec(text, { file: path });
  return parseSpec(text, {
    file: path,
    fileExists: repoFileExists(repoRoot),
    readFile: repoFileReader(repoRoot),
  });
}

/** The `readFile` of `parseSpec` for a repository on disk: the file's text, or `undefined`. */
export function repoFileReader(repoRoot: string): (path: string) => string | undefined {
  return (path) => {
    try {
      return readFileSync(join(repoRoot, path), 'utf8');
    } catch {
      return undefined;
    }
  };
}

/**
 * The `fileExists` check of `parseSpec` for a repository on disk: repository-relative paths are
 * resolved against `repoRoot`, absolute ones (`file://` sources) taken as they are. Only regular
 * files count: a directory named like the model is still a missing model.
 */
export function repoFileExists(repoRoot: string): (path: string) => boolean {
  return (path) =>
    statSync(isAbsolute(path) ? path : join(repoRoot, path), { throwIfNoEntry: false })?.isFile() === true;
}
