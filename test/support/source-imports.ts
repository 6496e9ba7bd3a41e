/**
 * The import statements of the project's source files, read from the text, and the packages a
 * module loads through them: what `test/architecture/layers.test.ts` holds the layers to and
 * `test/cli/command-imports.test.ts` holds each command's start-up to. Paths are relative to
 * the project root.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './paths.ts';

export interface ImportStatement {
  file: string;
  line: number;
  typeOnly: boolean;
  /**
   * `await import('…')` at the start of a line: loaded when that line runs, not with the module.
   * (A dynamic import inside an expression, `const x = await import('…')`, is not read at all.)
   */
  dynamic: boolean;
  /** The imported path relative to the project root, or the package name. */
  target: string;
}

export async function importsOf(file: string): Promise<ImportStatement[]> {
  const text = await readFile(join(REPO_ROOT, file), 'utf8');
  const statements: ImportStatement[] = [];
  const pattern = /^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'|^\s*await import\('([^']+)'\)/gms;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[3] ?? match[4] ?? '';
    const line = text.slice(0, match.index).split('\n').length;
    const target = specifier.startsWith('.')
      ? relative(REPO_ROOT, join(REPO_ROOT, file, '..', specifier))
      : specifier;
    statements.push({
      file,
      line,
      typeOnly: match[2] !== undefined,
      dynamic: match[4] !== undefined,
      target,
    });
  }
  return statements;
}

export const where = (s: ImportStatement) => `${s.file}:${s.line} imports ${s.target}`;

/**
 * Every package (`node:` built-ins included) the `entries` load through value imports, each with
 * the first statement that brings it in; `files` counts the project files walked. With
 * `dynamic: false` a dynamic import is not followed: what a command loads only on one path is not
 * its start-up.
 */
export async function packagesReachedFrom(
  entries: string[],
  options: { dynamic: boolean },
): Promise<{ packages: Map<string, string>; files: number }> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const statement of await importsOf(file)) {
      if (statement.typeOnly || (statement.dynamic && !options.dynamic)) continue;
      if (/\.(ts|mjs)$/.test(statement.target)) queue.push(statement.target);
      else {
        const [scope = '', name = ''] = statement.target.split('/');
        const pkg = scope.startsWith('@') ? `${scope}/${name}` : scope;
        if (!packages.has(pkg)) packages.set(pkg, where(statement));
      }
    }
  }
  return { packages, files: seen.size };
}
