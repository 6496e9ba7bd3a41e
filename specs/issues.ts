/**
 * The schema step of the parse pipeline: runs `ModelDeploymentSchema` (or another document's
 * schema, e.g. an environment policy's, through `checkAgainst`) and turns zod issues into
 * problems an author can act on. Zod's default messages are written for developers
 * ("Invalid input: expected string, received undefined"); these speak YAML ("missing required
 * field", "expected a map, got a list"). Messages written in the schema itself always win: the
 * per-parse error map below only fills in the ones it left to zod.
 */
import type { z } from 'zod';
import { type FieldPath, formatPath } from './errors.ts';
import { type ModelDeployment, ModelDeploymentSchema, STEP_KINDS } from './schema.ts';

/** A schema problem before it has a position: `at: 'key'` places it on the key, not its value. */
interface SchemaProblem {
  path: FieldPath;
  message: string;
  at: 'value' | 'key';
}

/** The parsed document (defaults applied), or every schema problem. */
export type CheckResult<T> = { success: true; data: T } | { success: false; problems: SchemaProblem[] };

/** The parsed spec (defaults applied), or every schema problem. */
type SchemaResult = CheckResult<ModelDeployment>;

/** Checks plain data (from YAML) against the spec schema. */
export function checkSchema(data: unknown): SchemaResult {
  return checkAgainst(ModelDeploymentSchema, data);
}

/** Checks plain data (from YAML) against any document schema, in the spec's words. */
export function checkAgainst<S extends z.ZodType>(schema: S, data: unknown): CheckResult<z.output<S>> {
  // Fields each map allows, by dot path, gathered while zod reports unknown keys (the final
  // issue no longer carries the schema), so an unknown key can be answered with a suggestion.
  const allowedKeys = new Map<string, string[]>();
  const result = schema.safeParse(data, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        allowedKeys.set(formatPath(toFieldPath(issue.path ?? [])), shapeKeys(issue.inst));
      }
      return defaultMessage(issue);
    },
  });
  if (result.success) return { success: true, data: result.data };
  const problems = result.error.issues.flatMap((issue) => toProblems(issue, allowedKeys));
  // `sorce:` makes both "source" missing and "sorce" unknown; the suggestion on the unknown
  // key already says it all, so the missing field is not reported a second time.
  const suggested = new Set(
    problems.flatMap((problem) => (problem.suggests ? [formatPath(problem.suggests)] : [])),
  );
  return {
    success: false,
    problems: problems
      .filter((problem) => !(problem.message === MISSING && suggested.has(formatPath(problem.path))))
      .map(({ path, message, at }) => ({ path, message, at })),
  };
}

const MISSING = 'missing required field';

/** A problem, and for an unknown key the path of the field it was probably meant to be. */
type Problem = SchemaProblem & { suggests?: FieldPath };

function toProblems(issue: z.core.$ZodIssue, allowedKeys: Map<string, string[]>): Problem[] {
  const path = toFieldPath(issue.path);
  if (issue.code === 'invalid_key') {
    // A record's key that breaks its pattern (e.g. a key name in a policy's trustedKeys).
    const why = issue.issues.map((inner) => inner.message).join('; ');
    return [{ path, message: `key "${String(path.at(-1))}" ${why}`, at: 'key' }];
  }
  if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message, at: 'value' }];
  // One problem per key, each on its own line of the file.
  const allowed = allowedKeys.get(formatPath(path)) ?? [];
  return issue.keys.map((key) => {
    const isStep = allowed.length === STEP_KINDS.length && STEP_KINDS.every((kind) => allowed.includes(kind));
    const what = isStep ? `unknown step kind "${key}"` : `unknown field "${key}"`;
    const suggestion = closest(key, allowed);
    if (suggestion !== undefined) {
      return {
        path: [...path, key],
        message: `${what}; did you mean "${suggestion}"?`,
        at: 'key',
        suggests: [...path, suggestion],
      };
    }
    const message = allowed.length > 0 ? `${what}; expected one of: ${allowed.join(', ')}` : what;
    return { path: [...path, key], message, at: 'key' };
  });
}

/** Messages for the issues the schema left to zod; `undefined` keeps zod's own. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return MISSING;
      return `expected ${TYPE_NOUNS[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value': {
      const [only, ...others] = issue.values;
      const wanted =
        others.length === 0 ? `must be ${JSON.stringify(only)}` : `must be one of ${issue.values.join(', ')}`;
      return `${wanted}; got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      return sizeMessage('at least', 'greater than', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return sizeMessage('at most', 'less than', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_format':
      return 'has an invalid format';
    default:
      return undefined;
  }
}

function sizeMessage(
  inclusiveWord: string,
  exclusiveWord: string,
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
): string | undefined {
  const bound = inclusive === false ? exclusiveWord : inclusiveWord;
  if (origin === 'string')
    return limit === 1 && bound === 'at least' ? 'must not be empty' : `must be ${bound} ${limit} characters`;
  if (origin === 'array') return `needs ${bound} ${limit} ${limit === 1 ? 'item' : 'items'}`;
  if (origin === 'number' || origin === 'int') return `must be ${bound} ${limit}`;
  return undefined;
}

/** Zod's type names in YAML words. */
const TYPE_NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
};

/** A value as an author would recognise it in their YAML, kept short. */
function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function shapeKeys(schema: unknown): string[] {
  if (typeof schema === 'object' && schema !== null && 'shape' in schema) {
    const { shape } = schema as { shape: unknown };
    if (typeof shape === 'object' && shape !== null) return Object.keys(shape);
  }
  return [];
}

function toFieldPath(path: readonly PropertyKey[]): FieldPath {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

/** The allowed key a typo most likely meant: same letters in another case, or at most 2 edits away. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of allowed) {
    const distance = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name);
    if (distance <= 2 && distance < key.length && (best === undefined || distance < best.distance)) {
      best = { name, distance };
    }
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
