/**
 * Shared by the spec tests: where the repository and the fixtures are, independent of the
 * working directory vitest runs in, and a parse that names files as a user would see them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ParseSpecResult, parseSpec } from '../../specs/parse.ts';
import { repoFileExists } from '../../specs/parse-file.ts';

/** The repository root: fixtures point at the real `models/` files through it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Repository-relative paths of the `*.yaml` files in a repository folder, sorted. */
export function yamlFilesIn(folder: string): string[] {
  return readdirSync(`${REPO_ROOT}${folder}`)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => `${folder}/${name}`);
}

/** Reads a repository file. */
export function readRepoFile(path: string): string {
  return readFileSync(`${REPO_ROOT}${path}`, 'utf8');
}

/**
 * Parses a repository file with file checks against the repository, reporting it under its
 * repository-relative path so error text is the same on every machine.
 */
export function parseRepoSpec(path: string): ParseSpecResult {
  return parseSpec(readRepoFile(path), { file: path, fileExists: repoFileExists(REPO_ROOT) });
}

/** The 1-based line and column of the first occurrence of `needle` in `text` (to check positions by hand). */
export function positionIn(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  if (offset === -1) throw new Error(`"${needle}" is not in the text`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
