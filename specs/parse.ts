/**
 * The one parse pipeline of the spec language:
 * YAML text → document with positions → schema (defaults applied) → semantic rules →
 * `{ ok: true, spec } | { ok: false, errors }`.
 *
 * Every error of a file comes out of one call (YAML syntax, schema and rule errors together),
 * each with file, line, column and field path. Rules run only when the schema passed, since
 * they rely on the parsed types. Pure: reading files is `parse-file.ts`'s job.
 */
import { compareSpecErrors, formatPath, type SpecError } from './errors.ts';
import { checkSchema } from './issues.ts';
import { checkRules, type RuleContext } from './rules.ts';
import type { ModelDeployment } from './schema.ts';
import { positionOf, readYaml, type SpecSource } from './yaml-source.ts';

export type { SpecError } from './errors.ts';
export { formatSpecError } from './errors.ts';

/** Options of `parseSpec`. */
interface ParseSpecOptions extends RuleContext {
  /** The name errors report the text under, usually the path the user gave. Default `<input>`. */
  file?: string;
}

/** A spec with its document (for positions later on), or every error found in it. */
export type ParseSpecResult =
  | { ok: true; spec: ModelDeployment; source: SpecSource }
  | { ok: false; errors: SpecError[] };

/** Parses and checks the text of one spec file. */
export function parseSpec(text: string, options: ParseSpecOptions = {}): ParseSpecResult {
  const file = options.file ?? '<input>';
  const { source, data, errors } = readYaml(text, file);
  if (source === undefined) return { ok: false, errors };

  const schema = checkSchema(data);
  if (!schema.success) {
    for (const { path, message, at } of schema.problems) {
      errors.push({ file, ...positionOf(source, path, at), path: formatPath(path), message });
    }
    return { ok: false, errors: errors.sort(compareSpecErrors) };
  }

  const context: RuleContext = options.fileExists === undefined ? {} : { fileExists: options.fileExists };
  for (const { path, message, rule } of checkRules(schema.data, context)) {
    errors.push({ file, ...positionOf(source, path), path: formatPath(path), message, rule });
  }
  if (errors.length > 0) return { ok: false, errors: errors.sort(compareSpecErrors) };
  return { ok: true, spec: schema.data, source };
}
