/**
 * What a command loads before it does anything: each `modelship <command>` imports only its own
 * module (cli/main.ts loads it when called), and that module's static imports decide how long the
 * command takes to start. `@temporalio/worker` alone costs a process about 0.45 s of CPU (its
 * native core among it); the commands that only talk to Temporal as a client must not pay it. The
 * `pg` driver costs about 60 ms; it is loaded when a PostgreSQL URL is given, not before.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.ts';

/** Every package a module loads when imported, through its static (not type-only) imports. */
function packagesLoadedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    // `import x from '…'`, `import '…'` and `export … from '…'`; not `import type`/`export type`,
    // which vanish when compiled, nor `import('…')`, which loads only when called.
    const statements = /^(?:import|export)(?!\s+type\s)[^;]*?\sfrom\s+'([^']+)'|^import\s+'([^']+)'/gms;
    for (const match of source.matchAll(statements)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:')) {
        packages.add(
          specifier.startsWith('@')
            ? specifier.split('/').slice(0, 2).join('/')
            : (specifier.split('/')[0] ?? specifier),
        );
      }
    }
  };
  visit(entry);
  return packages;
}

describe('what each command loads', () => {
  it.each(['approve', 'status', 'deploy', 'reconcile', 'apply'])(
    '`modelship %s` talks to Temporal as a client and loads no worker SDK',
    (command) => {
      const loaded = packagesLoadedBy(repoPath(`cli/commands/${command}.ts`));
      expect(loaded.has('@temporalio/client'), 'it does reach Temporal').toBe(true);
      expect([...loaded]).not.toContain('@temporalio/worker');
    },
  );

  it.each(['audit', 'history', 'card', 'quarantine', 'promote', 'revert', 'replicas', 'serve'])(
    '`modelship %s` loads the PostgreSQL driver only when given a PostgreSQL URL',
    (command) => {
      expect([...packagesLoadedBy(repoPath(`cli/commands/${command}.ts`))]).not.toContain('pg');
    },
  );

  it('`modelship worker` does load the worker SDK, so the checks above see through the imports', () => {
    expect(packagesLoadedBy(repoPath('cli/commands/worker.ts')).has('@temporalio/worker')).toBe(true);
  });
});
