/**
 * Set-up for the PostgreSQL audit tests: a real server (never a mock), one schema per test file
 * and one table per test, all dropped afterwards. An unreachable server fails the tests with
 * instructions instead of skipping them: a store that was never tested must not look green.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { describePostgresUrl } from '../../audit/postgres-url.ts';

/** The server the tests use: MODELSHIP_TEST_POSTGRES_URL, else the local trust-auth default. */
export const TEST_POSTGRES_URL =
  process.env.MODELSHIP_TEST_POSTGRES_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/test';

/** Test access to the server: fresh table names and raw SQL beside the store. */
export interface PostgresTestbed {
  /** The schema of this test file, dropped with everything in it after the file's tests. */
  schema: string;
  /** TEST_POSTGRES_URL with this file's schema as the search_path, for code that uses the default table. */
  url: string;
  /** A new `schema.table` name no other test uses. */
  table(): string;
  /** Runs SQL on a separate connection, as a person with psql would. */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /**
   * Runs SQL against `table` as an attacker with write access would: its triggers disabled first
   * (they only guard against accidents), enabled again afterwards.
   */
  tamper(table: string, text: string): Promise<void>;
}

/** Registers the hooks of a test file that talks to PostgreSQL; call once at the top level. */
export function usePostgres(): PostgresTestbed {
  const schema = `modelship_test_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  let counter = 0;
  let tables: string[] = [];

  beforeAll(async () => {
    try {
      await client.connect();
    } catch (error) {
      throw new Error(
        `the PostgreSQL audit tests need a server, and ${describePostgresUrl(TEST_POSTGRES_URL)} is unreachable ` +
          `(${(error as Error).message || String(error)}). Start PostgreSQL there, or point ` +
          'MODELSHIP_TEST_POSTGRES_URL at one where this user may create schemas, e.g. ' +
          'MODELSHIP_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test npx vitest run --project unit test/audit',
        { cause: error },
      );
    }
    await client.query(`CREATE SCHEMA ${schema}`);
  });

  afterEach(async () => {
    // Code under test that uses the default table name puts `audit_log` in this schema (see `url`).
    const done = [...tables, `${schema}.audit_log`];
    tables = [];
    for (const table of done) await client.query(`DROP TABLE IF EXISTS ${table}`);
  });

  afterAll(async () => {
    // Also removes the trigger function the store created in this schema.
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
  });

  const separator = TEST_POSTGRES_URL.includes('?') ? '&' : '?';
  return {
    schema,
    url: `${TEST_POSTGRES_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    table() {
      counter += 1;
      const table = `${schema}.audit_${counter}`;
      tables.push(table);
      return table;
    },
    async sql<R extends pg.QueryResultRow>(text: string, params: unknown[] = []) {
      return (await client.query<R>(text, params)).rows;
    },
    async tamper(table, text) {
      await client.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      try {
        await client.query(text);
      } finally {
        await client.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
      }
    },
  };
}
