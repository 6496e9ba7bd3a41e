/**
 * Errors from `pg` turned into messages a person can act on. Neither `pg` nor the server puts
 * the password in an error, and `where` comes from `describePostgresUrl`, so none of these
 * messages can leak it.
 */
import { AuditStoreError, AuditStoreNotFoundError } from './store.ts';

/**
 * An {@link AuditStoreError} for a person: `where` names the server (and table), the text says
 * what to do; the original error stays as `cause`. Errors that already are ours pass through.
 */
export function wrapPgError(error: unknown, where: string, lockTimeoutMs: number): unknown {
  if (error instanceof AuditStoreError || error instanceof AuditStoreNotFoundError) return error;
  const { code, message } = describeError(error);
  if (code === '55P03') {
    return new AuditStoreError(
      `${where}: waited more than ${lockTimeoutMs} ms for a lock another session holds (another ` +
        'process appending, or creating the table; see application_name modelship-audit in pg_stat_activity)',
      { cause: error },
    );
  }
  if (code === '23505') {
    return new AuditStoreError(
      `${where}: ${message} (another writer appended without taking the append lock; nothing was forked)`,
      { cause: error },
    );
  }
  // No SQLSTATE (a socket error, a timeout) or a connection/authentication class one.
  const connection = code === undefined || /^(E[A-Z]+|08...|28...|3D000|57P0.)$/.test(code);
  return new AuditStoreError(`${where}: ${connection ? 'connection failed: ' : ''}${message}`, {
    cause: error,
  });
}

function describeError(error: unknown): { code: string | undefined; message: string } {
  if (!(error instanceof Error)) return { code: undefined, message: String(error) };
  const code = (error as { code?: unknown }).code;
  // Connecting to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with an
  // AggregateError whose own message is empty; its parts say what happened.
  const parts = error instanceof AggregateError ? error.errors.map((part: Error) => part.message) : [];
  const message = error.message || parts.join('; ') || (typeof code === 'string' ? code : error.name);
  return { code: typeof code === 'string' ? code : undefined, message };
}
