/**
 * The one parse pipeline of the spec language:
 * YAML text → document with positions → (over its base, when it `extends` one) → schema
 * (defaults applied) → semantic rules → `{ ok: true, spec, text } | { ok: false, errors }`.
 *
 * Every error of a file comes out of one call (YAML syntax, schema and rule errors together),
 * each with file, line, column and field path; for a spec with a base, in whichever of the two
 * files wrote the field. Rules run only when the schema passed, since they rely on the parsed
 * types. Pure: reading files is the caller's job (`parse-file.ts`, or a commit's tree).
 */
import { compareSpecErrors, formatPath, type SpecError } from './errors.ts';
import { checkSchema } from './issues.ts';
import {
  BASE_KIND,
  basePathOf,
  EXTENDS_KEY,
  extendsOf,
  isBaseDocument,
  type LayeredSource,
  mergeLayers,
  placeOf,
  type ReadRepoFile,
  renderLayered,
} from './overlay.ts';
import { checkRules, type RuleContext } from './rules.ts';
import type { ModelDeployment } from './schema.ts';
import { readYaml } from './yaml-source.ts';

export type { SpecError } from './errors.ts';
export { formatSpecError } from './errors.ts';

/** Options of `parseSpec`. */
interface ParseSpecOptions extends RuleContext {
  /** The name errors report the text under, usually the path the user gave. Default `<input>`. */
  file?: string;
  /**
   * Reads the base a spec `extends` (repository-relative path). Without it, a spec with
   * `extends:` is an error: its effective spec cannot be known.
   */
  readFile?: ReadRepoFile;
}

/** A spec with its document (for positions later on), or every error found in it. */
export type ParseSpecResult =
  | {
      ok: true;
      spec: ModelDeployment;
      source: LayeredSource;
      /**
       * The effective spec's text: the file's own text, or for a spec with a base the rendered
       * merge of the two. This is what is deployed, digested and recorded.
       */
      text: string;
    }
  | { ok: false; errors: SpecError[] };

/** Parses and checks the text of one spec file. */
export function parseSpec(text: string, options: ParseSpecOptions = {}): ParseSpecResult {
  const file = options.file ?? '<input>';
  const read = readYaml(text, file);
  const errors = [...read.errors];
  if (read.source === undefined) return { ok: false, errors };
  if (isBaseDocument(read.data)) {
    return {
      ok: false,
      errors: [
        {
          ...placeOf(read.source, ['kind']),
          path: 'kind',
          message: `a ${BASE_KIND} is not deployed on its own: it is checked through each spec that names it in "${EXTENDS_KEY}:"`,
        },
      ],
    };
  }

  const layered = withBase(read.source, read.data, options.readFile);
  errors.push(...layered.errors);
  const { source, data, effectiveText } = layered;
  if (errors.length > 0 && data === undefined) return { ok: false, errors: errors.sort(compareSpecErrors) };

  const schema = checkSchema(data);
  if (!schema.success) {
    for (const { path, message, at } of schema.problems) {
      errors.push({ ...placeOf(source, path, at), path: formatPath(path), message });
    }
    return { ok: false, errors: errors.sort(compareSpecErrors) };
  }

  const context: RuleContext = options.fileExists === undefined ? {} : { fileExists: options.fileExists };
  for (const { path, message, rule } of checkRules(schema.data, context)) {
    errors.push({ ...placeOf(source, path), path: formatPath(path), message, rule });
  }
  if (errors.length > 0) return { ok: false, errors: errors.sort(compareSpecErrors) };
  return { ok: true, spec: schema.data, source, text: effectiveText ?? text };
}

/** The document merged over its base, when it names one; its errors when the base is unusable. */
function withBase(
  overlay: LayeredSource,
  overlayData: unknown,
  readFile: ReadRepoFile | undefined,
): { source: LayeredSource; data: unknown; effectiveText?: string; errors: SpecError[] } {
  const written = extendsOf(overlayData);
  const hasKey = typeof overlayData === 'object' && overlayData !== null && EXTENDS_KEY in overlayData;
  if (!hasKey) return { source: overlay, data: overlayData, errors: [] };
  const failed = (message: string, path: (string | number)[] = [EXTENDS_KEY]) => ({
    source: overlay,
    data: undefined,
    errors: [{ ...placeOf(overlay, path), path: formatPath(path), message }],
  });
  const basePath = basePathOf(overlayData);
  if (written === undefined || basePath === undefined) {
    return failed(
      `"${EXTENDS_KEY}:" names the base spec by its path from the repository root, e.g. specs/iris/base.yaml`,
    );
  }
  if (readFile === undefined) {
    return failed(`this spec extends ${basePath}, and no repository was given to read it from`);
  }
  const baseText = readFile(basePath);
  if (baseText === undefined) return failed(`no such file in the repository: ${basePath}`);
  const base = readYaml(baseText, basePath);
  if (base.source === undefined) return { source: overlay, data: undefined, errors: base.errors };
  if (base.errors.length > 0) return { source: overlay, data: undefined, errors: base.errors };
  const baseSource = base.source;
  const inBase = (message: string, path: (string | number)[]) => ({
    source: overlay,
    data: undefined,
    errors: [{ ...placeOf(baseSource, path), path: formatPath(path), message }],
  });
  if (!isBaseDocument(base.data)) {
    return inBase(`a base spec declares kind: ${BASE_KIND} (it is not deployed on its own)`, ['kind']);
  }
  if (extendsOf(base.data) !== undefined || EXTENDS_KEY in (base.data as object)) {
    return inBase(`a base cannot extend another base: keep what every environment shares in one file`, [
      EXTENDS_KEY,
    ]);
  }
  const apiVersion = (base.data as Record<string, unknown>).apiVersion;
  const overlayVersion = (overlayData as Record<string, unknown>).apiVersion;
  if (apiVersion !== undefined && apiVersion !== overlayVersion) {
    return inBase(`the base is ${String(apiVersion)}, the spec extending it ${String(overlayVersion)}`, [
      'apiVersion',
    ]);
  }
  const data = mergeLayers(base.data, overlayData);
  return {
    source: { ...overlay, base: baseSource },
    data,
    effectiveText: renderLayered(data, basePath),
    errors: [],
  };
}
