/**
 * The file store's files as text: `state.json` (the state plus a `format` marker, pretty-printed
 * for people), history lines (one state per line) and report files. Every file is parsed with
 * the schemas of `types.ts`, because anyone may have edited it: one that does not fit is a
 * {@link DesiredStateCorruptError} naming environment, file and each field wrong, and a file
 * that says it belongs elsewhere (another environment, another replica) is refused too.
 */
import type { z } from 'zod';
import { DesiredStateCorruptError, describeIssues } from './errors.ts';
import { DesiredState, ReplicaReport } from './types.ts';

/** The version of `state.json`'s layout; a newer one is refused, never overwritten. */
const FORMAT = 1;

/** The text of `state.json` for `state`. */
export function stateFileText(state: DesiredState): string {
  return `${JSON.stringify({ format: FORMAT, ...state }, null, 2)}\n`;
}

/** The text of a replica's report file. */
export function reportFileText(report: ReplicaReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Parses `state.json` of `environment`, read from `path`. */
export function parseStateFile(environment: string, text: string, path: string): DesiredState {
  const value = parseJsonText(environment, text, path);
  const { format, ...rest } = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  if (format !== FORMAT) {
    const problem =
      typeof format === 'number' && format > FORMAT
        ? `format: ${format} was written by a newer modelship`
        : `format: must be ${FORMAT}`;
    throw new DesiredStateCorruptError(environment, path, problem);
  }
  return checkedState(environment, rest, path);
}

/** Parses one line of `history.jsonl`; `where` names file and line. */
export function parseHistoryLine(environment: string, line: string, where: string): DesiredState {
  return checkedState(environment, parseJsonText(environment, line, where), where);
}

/** Parses the report file `<replica>.json` of `environment`, read from `path`. */
export function parseReportFile(
  environment: string,
  fileName: string,
  text: string,
  path: string,
): ReplicaReport {
  const report = parseValue(environment, parseJsonText(environment, text, path), path, ReplicaReport);
  if (report.environment !== environment || `${report.replica}.json` !== fileName) {
    throw new DesiredStateCorruptError(
      environment,
      path,
      `replica: is "${report.replica}" of environment "${report.environment}", not the file's`,
    );
  }
  return report;
}

function checkedState(environment: string, value: unknown, where: string): DesiredState {
  const state = parseValue(environment, value, where, DesiredState);
  if (state.environment !== environment) {
    throw new DesiredStateCorruptError(
      environment,
      where,
      `environment: is "${state.environment}", not the folder's`,
    );
  }
  return state;
}

function parseJsonText(environment: string, text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DesiredStateCorruptError(environment, where, `not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

function parseValue<S extends z.ZodType>(
  environment: string,
  value: unknown,
  where: string,
  schema: S,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new DesiredStateCorruptError(environment, where, describeIssues(parsed.error));
  return parsed.data;
}
