/**
 * `modelship validate <file…>`: checks spec files against the schema and the semantic rules,
 * reporting every error of every file at once. Exit 0 when all are valid, 1 when any is invalid,
 * 2 for usage errors (no file given, a file that cannot be read).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatSpecError, type SpecError } from '../../specs/errors.ts';
import { declaresBase } from '../../specs/overlay.ts';
import { parseSpecFile } from '../../specs/parse-file.ts';
import { summarizeSpec } from '../../specs/summary.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship validate <file…> [--repo-root DIR] [--format text|json]

Checks ModelDeployment specs: YAML syntax, schema, and rules (weights, approvers, files, …).
Prints one line per valid spec, and every error as file:line:column  path: message.

Options:
  --repo-root DIR   directory that model and holdout paths are relative to
                    (default: the git top-level of each spec's directory, else the current one)
  --format FORMAT   text (default) or json (one JSON document on stdout)
  -h, --help

Exit status: 0 all valid, 1 some spec invalid, 2 usage error (no file, unreadable file).`;

/** What happened to one file, as `--format json` prints it. */
type FileReport =
  | { file: string; ok: true; summary: string }
  | { file: string; ok: true; base: true }
  | { file: string; ok: false; errors: SpecError[] }
  | { file: string; ok: false; unreadable: string };

export const command: Command = {
  async run(argv) {
    const { values, positionals: files } = parseCommandArgs(
      argv,
      { 'repo-root': { type: 'string' }, format: { type: 'string', default: 'text' } },
      USAGE,
    );
    const format = values.format;
    if (format !== 'text' && format !== 'json') {
      throw new CliError(`--format must be text or json, got "${String(format)}"\n\n${USAGE}`);
    }
    if (files.length === 0) throw new CliError(`no spec file given\n\n${USAGE}`);
    const repoRootFlag = typeof values['repo-root'] === 'string' ? values['repo-root'] : undefined;

    const reports: FileReport[] = [];
    for (const file of files) {
      const report = await validateFile(file, repoRootFlag ?? gitTopLevel(dirname(file)));
      reports.push(report);
      if (format === 'text') printText(report);
    }
    if (format === 'json') console.log(JSON.stringify({ files: reports }, null, 2));

    if (reports.some((report) => 'unreadable' in report)) return 2;
    return reports.every((report) => report.ok) ? 0 : 1;
  },
};

async function validateFile(file: string, repoRoot: string): Promise<FileReport> {
  try {
    // A base holds part of a spec: it is checked in full through each spec that extends it, so
    // a glob over a specs folder (base files included) still validates every deployable spec.
    if (declaresBase(await readFile(file, 'utf8'))) return { file, ok: true, base: true };
    const result = await parseSpecFile(file, { repoRoot });
    return result.ok
      ? { file, ok: true, summary: summarizeSpec(result.spec) }
      : { file, ok: false, errors: result.errors };
  } catch (error) {
    return { file, ok: false, unreadable: readErrorReason(error) };
  }
}

function printText(report: FileReport): void {
  if ('base' in report) console.log(`base  ${report.file}  checked through each spec that extends it`);
  else if (report.ok) console.log(`ok  ${report.file}  ${report.summary}`);
  else if ('unreadable' in report)
    console.error(`modelship: cannot read ${report.file}: ${report.unreadable}`);
  else for (const error of report.errors) console.error(formatSpecError(error));
}

function readErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

// One spec directory usually holds many specs: ask git once per directory.
const topLevels = new Map<string, string>();

/** The git work tree holding `dir`, or the current directory outside any (or without git). */
function gitTopLevel(dir: string): string {
  let topLevel = topLevels.get(dir);
  if (topLevel === undefined) {
    try {
      topLevel = execFileSync('git', ['rev-parse', '--show-toplevel'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      topLevel = process.cwd();
    }
    topLevels.set(dir, topLevel);
  }
  return topLevel;
}
