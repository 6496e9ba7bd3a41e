/**
 * The PostgreSQL store against a real server: the contract (a schema per test), then what only
 * the database can do: a listener whose connection the server ends, rows edited by hand, a
 * schema chosen by search_path, and someone else's table of the same name.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DesiredStateCorruptError } from '../../desired-state/errors.ts';
import {
  openPostgresDesiredStateStore,
  type PostgresDesiredStateOptions,
} from '../../desired-state/postgres-store.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import type { DesiredState } from '../../desired-state/types.ts';
import { TEST_POSTGRES_URL, usePostgres } from '../audit/postgres-helpers.ts';
import { describeStoreContract } from './contract.ts';
import { addOnePercent, canaryModels, sampleReport, waitFor } from './support.ts';

// One schema for this file (usePostgres), and one more per test beside it, all dropped at the end.
const db = usePostgres();
const schemas: string[] = [];
function freshSchema(): string {
  const schema = `${db.schema}_${schemas.length + 1}`;
  schemas.push(schema);
  return schema;
}
// Registered after usePostgres, so it runs before that helper closes its connection.
afterAll(async () => {
  for (const schema of schemas) await db.sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

describeStoreContract({
  name: 'PostgreSQL store',
  fresh: async () => ({ url: TEST_POSTGRES_URL, postgres: { schema: freshSchema() } }),
});

describe('PostgreSQL store on the server', () => {
  const open: DesiredStateStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });
  async function storeIn(
    schema: string,
    options: PostgresDesiredStateOptions = {},
  ): Promise<DesiredStateStore> {
    const store = await openPostgresDesiredStateStore(TEST_POSTGRES_URL, { schema, ...options });
    open.push(store);
    return store;
  }

  it('keeps listening after the server ends its connection, and catches up on what it missed', async () => {
    const schema = freshSchema();
    // No poll to hide behind: only the listener (and its catch-up read) can deliver.
    const watcher = await storeIn(schema, { pollIntervalMs: 600_000 });
    const writer = await storeIn(schema);
    await writer.update('staging', () => canaryModels(1));
    const seen: DesiredState[] = [];
    const errors: Error[] = [];
    const stop = await watcher.watch('staging', (state) => seen.push(state), {
      onError: (e) => errors.push(e),
    });
    const listeners = () =>
      db.sql<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'modelship-desired-state-listen' AND query = $1`,
        [`LISTEN "desired_state_${schema}"`],
      );
    const [listener] = await listeners();
    expect(listener).toBeDefined();

    await db.sql('SELECT pg_terminate_backend($1)', [listener?.pid]);
    // A change while nobody listens: its notification is lost, the catch-up read finds it.
    await writer.update('staging', addOnePercent);
    await waitFor('generation 2 after the reconnect', () => seen.at(-1)?.generation === 2, 3_000);
    expect(errors[0]?.message).toMatch(
      /listening for desired-state changes on .*terminat.*; reconnecting in 100 ms/,
    );
    await waitFor('a new listening connection', async () =>
      (await listeners()).some((row) => row.pid !== listener?.pid),
    );

    // And notifications flow again on the new connection.
    const started = Date.now();
    await writer.update('staging', addOnePercent);
    await waitFor('generation 3', () => seen.at(-1)?.generation === 3, 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    await stop();
  });

  it('a row edited by hand that does not parse is an error naming environment and field, never a crash', async () => {
    const schema = freshSchema();
    const store = await storeIn(schema);
    await store.update('staging', () => canaryModels(10));
    const seen: number[] = [];
    const errors: Error[] = [];
    const stop = await store.watch('staging', (state) => seen.push(state.generation), {
      onError: (e) => errors.push(e),
    });
    await db.sql(
      `UPDATE ${schema}.desired_state SET models = jsonb_set(models, '{iris,canary,weight}', '150'), generation = 2`,
    );
    await db.sql(`NOTIFY desired_state_${schema}, 'staging:2'`);

    const error = await store.read('staging').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DesiredStateCorruptError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^desired state of environment "staging" in "${schema}".desired_state on postgres@127.0.0.1:5432/test is malformed: ` +
          'models.iris.canary.weight: must be from 0 to 100 \\(percent\\)$',
      ),
    );
    await waitFor('the watch to report it', () => errors.length > 0, 1_000);
    expect(errors[0]).toBeInstanceOf(DesiredStateCorruptError);
    expect(seen).toEqual([1]);
    await expect(store.update('staging', addOnePercent)).rejects.toBeInstanceOf(DesiredStateCorruptError);

    await db.sql(`UPDATE ${schema}.desired_state SET models = '{"iris": "nope"}'`);
    await expect(store.read('staging')).rejects.toThrow(/models\.iris: /);
    await stop();
  });

  it('a malformed replica row names the replica and the field', async () => {
    const schema = freshSchema();
    const store = await storeIn(schema);
    await store.report(sampleReport({ replica: 'serve-7' }));
    await db.sql(`UPDATE ${schema}.desired_state_replicas SET status = 'sleeping'`);
    await expect(store.replicas('staging')).rejects.toThrow(/replica "serve-7".*status: /);
  });

  it('a state row deleted by hand while its history remains is refused, not read as empty', async () => {
    const schema = freshSchema();
    const store = await storeIn(schema);
    await store.update('staging', () => canaryModels(10));
    await db.sql(`DELETE FROM ${schema}.desired_state`);
    await expect(store.read('staging')).rejects.toThrow(
      /row is missing or at generation 0, but .* holds generations up to 1/,
    );
    await expect(store.update('staging', () => canaryModels(1))).rejects.toBeInstanceOf(
      DesiredStateCorruptError,
    );
  });

  it('uses the first schema of the search_path when none is given', async () => {
    const store = await openPostgresDesiredStateStore(db.url);
    open.push(store);
    expect(store.location).toBe(`schema ${db.schema} on postgres@127.0.0.1:5432/test`);
    await store.update('staging', () => canaryModels(1));
    const rows = await db.sql(`SELECT environment, generation FROM ${db.schema}.desired_state`);
    expect(rows).toEqual([{ environment: 'staging', generation: '1' }]);
  });

  it("refuses a table of the same name that is not modelship's", async () => {
    const schema = freshSchema();
    await db.sql(`CREATE SCHEMA ${schema}`);
    await db.sql(`CREATE TABLE ${schema}.desired_state (id int)`);
    await expect(openPostgresDesiredStateStore(TEST_POSTGRES_URL, { schema })).rejects.toThrow(
      /desired_state on .* exists but is not a modelship desired-state table/,
    );
  });

  it('an unreachable server is an error naming it, without the password', async () => {
    await expect(
      openPostgresDesiredStateStore('postgres://modelship:s3cret@127.0.0.1:1/prod', {
        connectTimeoutMs: 1_000,
      }),
    ).rejects.toThrow(
      /^desired-state store at modelship@127\.0\.0\.1:1\/prod: connection failed: (?!.*s3cret)/,
    );
  });
});
