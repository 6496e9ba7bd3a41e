/**
 * The compiled entries the CLI and the ONNX child start from (bin/compiled-entry.mjs): built once,
 * reused while the sources are unchanged, rebuilt on any edit, never run stale, with each module's
 * import.meta.url still its source file, and the real CLI the same either way.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledEntry } from '../../bin/compiled-entry.mjs';
import { repoPath } from '../support/paths.ts';

const roots: string[] = [];
afterAll(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A project of two TypeScript modules: the entry prints what the other exports, and its URL. */
async function project(): Promise<{ root: string; cacheRoot: string; entry: string; dependency: string }> {
  const root = await mkdtemp(join(tmpdir(), 'modelship-compiled-entry-'));
  roots.push(root);
  const entry = join(root, 'main.ts');
  const dependency = join(root, 'greeting.ts');
  await writeFile(
    dependency,
    "export const greeting: string = 'hello';\nexport const where = import.meta.url;\n",
  );
  await writeFile(
    entry,
    "import { greeting, where } from './greeting.ts';\nconsole.log(JSON.stringify({ greeting, where }));\n",
  );
  return { root, cacheRoot: join(root, 'cache'), entry, dependency };
}

function run(bundle: string): { greeting: string; where: string } {
  const result = spawnSync(process.execPath, [bundle], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

describe('compiled entries', () => {
  it('builds on first use, then reuses the bundle while no source changed', async () => {
    const { root, cacheRoot, entry, dependency } = await project();
    const bundle = await compiledEntry(entry, { root, cacheRoot });
    expect(run(bundle)).toEqual({ greeting: 'hello', where: pathToFileURL(dependency).href });
    const built = (await stat(bundle)).mtimeMs;
    expect(await compiledEntry(entry, { root, cacheRoot })).toBe(bundle);
    expect((await stat(bundle)).mtimeMs).toBe(built);
  });

  it('rebuilds after an edit of any imported file, even one that keeps its size', async () => {
    const { root, cacheRoot, entry, dependency } = await project();
    await compiledEntry(entry, { root, cacheRoot });
    const source = await readFile(dependency, 'utf8');
    await writeFile(dependency, source.replace("'hello'", "'howdy'"));
    expect(run(await compiledEntry(entry, { root, cacheRoot })).greeting).toBe('howdy');
  });

  it('rebuilds when an input is gone, and says what is missing when the source no longer builds', async () => {
    const { root, cacheRoot, entry, dependency } = await project();
    await compiledEntry(entry, { root, cacheRoot });
    await rm(dependency);
    await expect(compiledEntry(entry, { root, cacheRoot })).rejects.toThrow(/greeting\.ts/);
  });

  it('lets processes starting at once each get a current bundle', async () => {
    const { root, cacheRoot, entry } = await project();
    const bundles = await Promise.all([1, 2, 3].map(() => compiledEntry(entry, { root, cacheRoot })));
    for (const bundle of bundles) expect(run(bundle).greeting).toBe('hello');
  });

  it('keeps a superseded build a process may still be loading, and removes one superseded long ago', async () => {
    const { root, cacheRoot, entry, dependency } = await project();
    const first = dirname(await compiledEntry(entry, { root, cacheRoot }));
    await writeFile(dependency, "export const greeting: string = 'hi';\nexport const where = '';\n");
    const second = dirname(await compiledEntry(entry, { root, cacheRoot }));
    const folder = dirname(first);
    expect((await readdir(folder)).sort()).toEqual(
      ['manifest.json', first.slice(folder.length + 1), second.slice(folder.length + 1)].sort(),
    );
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(first, anHourAgo, anHourAgo);
    await writeFile(dependency, "export const greeting: string = 'hey';\nexport const where = '';\n");
    const third = dirname(await compiledEntry(entry, { root, cacheRoot }));
    const left = await readdir(folder);
    expect(left).not.toContain(first.slice(folder.length + 1));
    expect(left).toContain(second.slice(folder.length + 1));
    expect(run(join(third, 'main.js')).greeting).toBe('hey');
  });

  it('refuses a cache folder it cannot create, so the caller starts through tsx instead', async () => {
    const { root, entry } = await project();
    const notAFolder = join(root, 'file');
    await writeFile(notAFolder, '');
    await expect(compiledEntry(entry, { root, cacheRoot: join(notAFolder, 'cache') })).rejects.toThrow(
      /ENOTDIR|EEXIST/,
    );
  });

  it('starts the real CLI with the same output as through tsx', () => {
    const cli = (env: NodeJS.ProcessEnv) =>
      spawnSync(
        process.execPath,
        [repoPath('bin/modelship.mjs'), 'validate', repoPath('specs/examples/iris.yaml')],
        {
          encoding: 'utf8',
          env: { ...process.env, ...env },
        },
      );
    const compiled = cli({});
    const viaTsx = cli({ MODELSHIP_COMPILED_ENTRIES: '0' });
    expect(compiled.status).toBe(0);
    expect(compiled.stdout).toContain('iris');
    expect(compiled).toMatchObject({ status: viaTsx.status, stdout: viaTsx.stdout, stderr: viaTsx.stderr });
  });
});
