/**
 * The audit log as the commands that read it find it (`audit`, `history`): the same flags and
 * the same order of precedence, so every reader reads the log the worker writes under the same
 * environment. Readers never create a log: a missing one is `AuditStoreNotFoundError`.
 */
import { assertPostgresUrl } from '../audit/postgres-url.ts';
import { openSqliteAuditStore } from '../audit/sqlite-store.ts';
import { type AuditStore, defaultAuditPath } from '../audit/store.ts';
import { CliError } from './command.ts';

/** The flags that choose the log, for `parseCommandArgs`. */
export const AUDIT_READER_OPTIONS = { home: { type: 'string' }, url: { type: 'string' } } as const;

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/**
 * The log to read: a flag beats the environment, and MODELSHIP_AUDIT_URL beats MODELSHIP_HOME.
 * `command` prefixes the usage error of giving both flags.
 */
export async function openAuditReader(values: Values, command: string): Promise<AuditStore> {
  const home = typeof values.home === 'string' ? values.home : undefined;
  const flag = typeof values.url === 'string' ? values.url : undefined;
  if (home !== undefined && flag !== undefined)
    throw new CliError(`${command}: give --home or --url, not both`);
  const url = flag ?? (home === undefined ? process.env.MODELSHIP_AUDIT_URL?.trim() || undefined : undefined);
  if (url !== undefined) {
    assertPostgresUrl(url, flag === undefined ? 'MODELSHIP_AUDIT_URL' : '--url');
    // Loaded only for a PostgreSQL log: its `pg` driver costs about 60 ms of start-up.
    const { openPostgresAuditStore } = await import('../audit/postgres-store.ts');
    return openPostgresAuditStore(url, { mustExist: true });
  }
  const path = defaultAuditPath({ MODELSHIP_HOME: home ?? process.env.MODELSHIP_HOME });
  return openSqliteAuditStore(path, { mustExist: true });
}

/** Opens the log, hands it to `use`, and closes it whatever `use` does. */
export async function withAuditReader<T>(
  values: Values,
  command: string,
  use: (store: AuditStore) => Promise<T>,
): Promise<T> {
  const store = await openAuditReader(values, command);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
