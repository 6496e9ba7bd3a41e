/**
 * The image build sees only an allow-list of folders (.dockerignore). A new source folder left
 * off it builds an image whose worker cannot import it, which only the slow stack test would
 * notice: every top-level folder of product code must be on the list.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.ts';

/** Folders that hold TypeScript but never run in the image. */
const NOT_IN_IMAGE = new Set(['test', 'bench', 'scripts', 'demo', 'node_modules', 'docs']);

describe('.dockerignore', () => {
  it('lets every folder of product code into the image', async () => {
    const allowed = (await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('!') && line.endsWith('/'))
      .map((line) => line.slice(1, -1));
    const folders: string[] = [];
    for (const entry of await readdir(REPO_ROOT, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || NOT_IN_IMAGE.has(entry.name)) continue;
      const files = await readdir(join(REPO_ROOT, entry.name), { recursive: true });
      if (files.some((file) => String(file).endsWith('.ts'))) folders.push(entry.name);
    }
    expect(folders.length).toBeGreaterThan(10);
    expect(folders.filter((folder) => !allowed.includes(folder))).toEqual([]);
  });
});
