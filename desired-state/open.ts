/**
 * Opening the desired-state store a process should use: PostgreSQL when given a URL (several
 * machines), else the file store under MODELSHIP_HOME (one machine). The worker and every serve
 * replica of an installation must open the same one, so the choice is made by configuration
 * only, never by what happens to be reachable.
 */
import { join } from 'node:path';
import { isPostgresUrl } from '../domain/postgres-url.ts';
import { DesiredStateError } from './errors.ts';
import { type FileDesiredStateOptions, openFileDesiredStateStore } from './file-store.ts';
import type { PostgresDesiredStateOptions } from './postgres-store.ts';
import type { DesiredStateStore } from './store.ts';

/** The file store's folder under a MODELSHIP_HOME. */
export function desiredStateDirFor(home: string): string {
  return join(home, 'desired-state');
}

/** Options of {@link openDesiredStateStore}. */
export interface OpenDesiredStateOptions {
  /** A `postgres://` or `postgresql://` URL: the PostgreSQL store. Blank or absent: the file store. */
  url?: string | undefined;
  /** The file store's folder (see {@link desiredStateDirFor}); needed when there is no URL. */
  directory?: string | undefined;
  postgres?: PostgresDesiredStateOptions;
  file?: FileDesiredStateOptions;
}

/**
 * Opens the PostgreSQL store at `url`, else the file store in `directory`. A URL that is not
 * PostgreSQL's is refused rather than silently falling back to local files, which would split
 * one environment's replicas between two records.
 */
export async function openDesiredStateStore(options: OpenDesiredStateOptions): Promise<DesiredStateStore> {
  const url = options.url?.trim() ?? '';
  if (url !== '') {
    if (!isPostgresUrl(url)) {
      throw new DesiredStateError(
        'the desired-state URL must be a postgres:// or postgresql:// URL, e.g. postgres://modelship@db.internal:5432/modelship',
      );
    }
    // Loaded only when asked for: its `pg` driver costs a process about 60 ms to import, and a
    // machine on its own keeps the file store.
    const { openPostgresDesiredStateStore } = await import('./postgres-store.ts');
    return openPostgresDesiredStateStore(url, options.postgres);
  }
  if (options.directory === undefined || options.directory.trim() === '') {
    throw new DesiredStateError(
      'the desired-state store needs a PostgreSQL URL or a directory (desiredStateDirFor(home))',
    );
  }
  return openFileDesiredStateStore(options.directory, options.file);
}
