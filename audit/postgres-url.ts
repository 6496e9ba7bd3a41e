/** Checking a PostgreSQL setting of the audit log; recognising and describing URLs is `domain/postgres-url.ts`. */
import { describePostgresUrl, isPostgresUrl } from '../domain/postgres-url.ts';
import { AuditStoreError } from './store.ts';

export { describePostgresUrl, isPostgresUrl };

/** Throws unless `url` is a PostgreSQL URL; `name` is the setting it came from (for the message). */
export function assertPostgresUrl(url: string, name: string): void {
  if (!isPostgresUrl(url)) {
    throw new AuditStoreError(
      `${name} must be a postgres:// or postgresql:// URL, e.g. postgres://modelship@db.internal:5432/modelship`,
    );
  }
}
