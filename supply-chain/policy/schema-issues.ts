/**
 * The schema step of the policy parse: zod issues in the words `specs/issues.ts` uses for specs
 * ("missing required field", "unknown field", "expected a map, got a list"), so a policy author
 * reads the same kind of message as a spec author. `specs/issues.ts` checks only the spec schema;
 * this is the part of it a second document kind needs.
 */
import type { z } from 'zod';
import type { FieldPath } from '../../specs/errors.ts';
import type { SchemaProblem } from '../../specs/issues.ts';
import { type EnvironmentPolicy, EnvironmentPolicySchema } from './schema.ts';

/** The parsed policy (defaults applied), or every schema problem. */
export type PolicySchemaResult =
  | { success: true; data: EnvironmentPolicy }
  | { success: false; problems: SchemaProblem[] };

/** Checks plain data (from YAML) against the policy schema. */
export function checkPolicySchema(data: unknown): PolicySchemaResult {
  const allowedKeys = new Map<string, string[]>();
  const result = EnvironmentPolicySchema.safeParse(data, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        allowedKeys.set(toFieldPath(issue.path ?? []).join('.'), shapeKeys(issue.inst));
      }
      return defaultMessage(issue);
    },
  });
  if (result.success) return { success: true, data: result.data };
  return {
    success: false,
    problems: result.error.issues.flatMap((issue): SchemaProblem[] => {
      const path = toFieldPath(issue.path);
      if (issue.code === 'unrecognized_keys') {
        const allowed = allowedKeys.get(path.join('.')) ?? [];
        const expected = allowed.length > 0 ? `; expected one of: ${allowed.join(', ')}` : '';
        return issue.keys.map((key) => ({
          path: [...path, key],
          message: `unknown field "${key}"${expected}`,
          at: 'key',
        }));
      }
      if (issue.code === 'invalid_key') {
        const why = issue.issues.map((inner) => inner.message).join('; ');
        return [{ path, message: `key "${String(path.at(-1))}" ${why}`, at: 'key' }];
      }
      return [{ path, message: issue.message, at: 'value' }];
    }),
  };
}

const MISSING = 'missing required field';

/** Messages for the issues the schema left to zod; `undefined` keeps zod's own. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return MISSING;
      return `expected ${TYPE_NOUNS[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      if (issue.input === undefined) return MISSING;
      return `must be ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}; got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string' && issue.minimum === 1) return 'must not be empty';
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${issue.minimum}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}`;
    default:
      return undefined;
  }
}

const TYPE_NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
};

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
