/**
 * The layer rules of docs/architecture.md, enforced. Biome's `noRestrictedImports` (one override
 * per folder in biome.json) and `noImportCycles` say which folder may import which; what Biome
 * cannot tell apart, a type-only import from a value import, is checked here by reading the
 * import statements of every source file. The type checker's stricter flags are enforced by
 * `npm run check` and the GitHub CI job, which run `tsc` (here it would cost `npm test` 10 s).
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT as PROJECT_ROOT } from '../support/paths.ts';
import { type ImportStatement, importsOf, packagesReachedFrom, where } from '../support/source-imports.ts';

const run = promisify(execFile);

/** Folders of product code; `test/`, `bench/` and `scripts/` exercise the layers from outside. */
const SOURCE_FOLDERS = [
  'domain',
  'specs',
  'analysis',
  'model',
  'oci',
  'supply-chain',
  'audit',
  'release',
  'desired-state',
  'sources',
  'serving',
  'activities',
  'workflows',
  'gitops',
  'worker',
  'cli',
  'demo',
];

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(join(PROJECT_ROOT, folder), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.(ts|mjs)$/.test(entry.name))
    .map((entry) => relative(PROJECT_ROOT, join(entry.parentPath, entry.name)));
}

async function allImports(): Promise<ImportStatement[]> {
  const files = (await Promise.all(SOURCE_FOLDERS.map(sourceFiles))).flat();
  return (await Promise.all(files.map(importsOf))).flat();
}

// The type checker and Biome take seconds each and share nothing: they run side by side.
describe.concurrent('layers', () => {
  it('nothing outside worker/ imports activities/, and workflows/ imports only its types', async () => {
    const imports = await allImports();
    expect(imports.length).toBeGreaterThan(200);
    const offending = imports.filter((s) => {
      if (!s.target.startsWith('activities/')) return false;
      const folder = s.file.split('/')[0];
      if (folder === 'activities' || folder === 'worker') return false;
      return !(folder === 'workflows' && s.typeOnly);
    });
    expect(offending.map(where)).toEqual([]);
  });

  it('workflows/ takes only types from the layers that do I/O', async () => {
    // Their values would drag file, network or native code into the workflow sandbox.
    const io = ['activities/', 'model/', 'supply-chain/', 'audit/'];
    const offending = (await allImports()).filter(
      (s) => s.file.startsWith('workflows/') && !s.typeOnly && io.some((layer) => s.target.startsWith(layer)),
    );
    expect(offending.map(where)).toEqual([]);
  });

  it('the workflow sandbox loads only the Temporal workflow packages', async () => {
    // Every workflow context of every worker evaluates what the workflow entry points reach by
    // value imports; a schema library or other package there costs each of them start-up time.
    const { packages, files } = await packagesReachedFrom(
      ['workflows/index.ts', 'workflows/interceptors.ts'],
      {
        dynamic: true,
      },
    );
    expect(files).toBeGreaterThan(20);
    const others = [...packages].filter(
      ([pkg]) => !['@temporalio/workflow', '@temporalio/common'].includes(pkg),
    );
    expect(others.map(([, how]) => how)).toEqual([]);
  });

  it('biome check passes: formatting, lint, the import restrictions of every layer and no import cycles', async () => {
    const biome = join(PROJECT_ROOT, 'node_modules', '.bin', 'biome');
    const result = await run(biome, ['check', '--max-diagnostics=50', '.'], { cwd: PROJECT_ROOT }).then(
      ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
      (error: { stdout?: string; stderr?: string }) => ({
        ok: false,
        output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    expect(result.ok, result.output).toBe(true);
  });
});
