/**
 * `pg` errors as messages a person can act on, naming the server (never the password: neither
 * `pg` nor the server puts it in an error, and `where` comes from `describePostgresUrl`).
 */
import { DesiredStateError } from './errors.ts';

/** A {@link DesiredStateError} for `error`; ours pass through unchanged. */
export function wrapPgError(error: unknown, where: string, lockTimeoutMs: number): Error {
  if (error instanceof DesiredStateError) return error;
  if (!(error instanceof Error)) return new DesiredStateError(`${where}: ${String(error)}`);
  const code = (error as { code?: unknown }).code;
  // Connecting to a name with several addresses fails with an AggregateError whose own message is empty.
  const parts = error instanceof AggregateError ? error.errors.map((part: Error) => part.message) : [];
  const message = error.message || parts.join('; ') || error.name;
  if (code === '55P03') {
    return new DesiredStateError(
      `${where}: waited more than ${lockTimeoutMs} ms for another writer of the same environment ` +
        '(see application_name modelship-desired-state in pg_stat_activity)',
      { cause: error },
    );
  }
  const connection = typeof code !== 'string' || /^(E[A-Z]+|08...|28...|3D000|57P0.)$/.test(code);
  return new DesiredStateError(`${where}: ${connection ? 'connection failed: ' : ''}${message}`, {
    cause: error,
  });
}
