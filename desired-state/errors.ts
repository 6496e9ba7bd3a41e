/**
 * The typed errors of the desired-state stores. Callers branch on the class: a conflict is
 * retried with a fresh read, a corrupt record is reported (a replica keeps serving what it has),
 * anything else is a plain {@link DesiredStateError} whose message says what to fix.
 */
import type { z } from 'zod';

/** Every error a desired-state store throws on purpose. Messages never contain a password. */
export class DesiredStateError extends Error {
  override name = 'DesiredStateError';
}

/** `update` with `expectedGeneration` found another generation: someone else wrote in between. */
export class DesiredStateConflictError extends DesiredStateError {
  override name = 'DesiredStateConflictError';

  constructor(
    readonly environment: string,
    readonly expectedGeneration: number,
    readonly actualGeneration: number,
  ) {
    super(
      `desired state of environment "${environment}" is at generation ${actualGeneration}, ` +
        `not ${expectedGeneration} as expected: another writer changed it; read it again and retry`,
    );
  }
}

/**
 * A stored record that does not parse (edited by hand, written by a newer modelship, damaged):
 * names the environment, where it was read from and each field that is wrong. Nothing is written
 * over it; `update` refuses until someone repairs it.
 */
export class DesiredStateCorruptError extends DesiredStateError {
  override name = 'DesiredStateCorruptError';

  constructor(
    readonly environment: string,
    readonly where: string,
    readonly problems: string,
    options?: ErrorOptions,
  ) {
    super(`desired state of environment "${environment}" in ${where} is malformed: ${problems}`, options);
  }
}

/**
 * zod issues as one line, each path under `root`:
 * `models.iris.canary.weight: must be from 0 to 100 (percent); …`.
 */
export function describeIssues(error: z.ZodError, root?: string): string {
  return error.issues
    .map((issue) => {
      const path = [...(root === undefined ? [] : [root]), ...issue.path.map(String)];
      // A record key that fails its schema is one issue with the key's own problems inside.
      const inner =
        'issues' in issue && Array.isArray(issue.issues)
          ? (issue.issues[0] as { message?: unknown })
          : undefined;
      const message = typeof inner?.message === 'string' ? inner.message : issue.message;
      return `${path.length > 0 ? path.join('.') : 'value'}: ${message}`;
    })
    .join('; ');
}

/** Parses `value` with `schema`, or throws a {@link DesiredStateError} starting with `what`. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new DesiredStateError(`${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
