/**
 * What a command loads before it does anything: each `modelship <command>` imports only its own
 * module (cli/main.ts loads it when called), and that module's static imports decide how long the
 * command takes to start. `@temporalio/worker` alone costs a process about 0.45 s of CPU (its
 * native core among it); the commands that only talk to Temporal as a client must not pay it. The
 * `pg` driver costs about 60 ms; it is loaded when a PostgreSQL URL is given, not before.
 */
import { describe, expect, it } from 'vitest';
import { packagesReachedFrom } from '../support/source-imports.ts';

/** Every package `modelship <command>` loads as it starts, through its static value imports. */
async function packagesLoadedBy(command: string): Promise<Set<string>> {
  const { packages } = await packagesReachedFrom([`cli/commands/${command}.ts`], { dynamic: false });
  return new Set(packages.keys());
}

describe('what each command loads', () => {
  it.each(['approve', 'status', 'deploy', 'reconcile', 'apply'])(
    '`modelship %s` talks to Temporal as a client and loads no worker SDK',
    async (command) => {
      const loaded = await packagesLoadedBy(command);
      expect(loaded.has('@temporalio/client'), 'it does reach Temporal').toBe(true);
      expect([...loaded]).not.toContain('@temporalio/worker');
    },
  );

  it.each(['audit', 'history', 'card', 'quarantine', 'promote', 'revert', 'replicas', 'serve'])(
    '`modelship %s` loads the PostgreSQL driver only when given a PostgreSQL URL',
    async (command) => {
      expect([...(await packagesLoadedBy(command))]).not.toContain('pg');
    },
  );

  it('`modelship worker` does load the worker SDK, so the checks above see through the imports', async () => {
    expect((await packagesLoadedBy('worker')).has('@temporalio/worker')).toBe(true);
  });
});
