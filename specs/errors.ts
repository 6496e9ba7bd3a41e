/**
 * The one error shape of the spec language: every problem found in a spec file (YAML syntax,
 * schema, semantic rule) becomes a `SpecError` that names file, line, column and field path.
 */

/** A field path as zod and the YAML document address it: keys and sequence indices. */
export type FieldPath = readonly (string | number)[];

/** One problem in a spec file, positioned so an editor or CI annotation can jump to it. */
export interface SpecError {
  /** The file as the user named it (no path rewriting, so terminals can link it). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** Dot path of the field, e.g. `spec.rollout.steps.2.setWeight`; empty for the file itself. */
  path: string;
  /** What is wrong, short and specific: no position, no path (those are the fields above). */
  message: string;
  /** Name of the semantic rule that found it; absent for YAML and schema errors. */
  rule?: string;
}

/** `spec.rollout.steps.2.setWeight` for `['spec', 'rollout', 'steps', 2, 'setWeight']`. */
export function formatPath(path: FieldPath): string {
  return path.join('.');
}

/**
 * One line per error, compiler style so terminals and editors link the position:
 * `file:line:column  path: message`, or `file:line:column  message` when there is no path.
 */
export function formatSpecError(error: SpecError): string {
  const where = `${error.file}:${error.line}:${error.column}`;
  return error.path === '' ? `${where}  ${error.message}` : `${where}  ${error.path}: ${error.message}`;
}

/** Orders errors as they appear in the file; `Array.prototype.sort` is stable, so ties keep their order. */
export function compareSpecErrors(a: SpecError, b: SpecError): number {
  return a.line - b.line || a.column - b.column;
}
