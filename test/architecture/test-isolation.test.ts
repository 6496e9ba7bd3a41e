/**
 * The `unit` and `workflows` projects share one module registry per worker process (`isolate: false` in
 * vitest.config.ts). A file that replaces a module with `vi.mock` would replace it for every file
 * after it in that process, so each such file must be listed to run isolated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.ts';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('test isolation', () => {
  it('lists every test file that mocks a module among the isolated ones', () => {
    const config = readFileSync(join(REPO_ROOT, 'vitest.config.ts'), 'utf8');
    const listed = /const MOCKING_TESTS = \[([^\]]*)\]/.exec(config)?.[1] ?? '';
    const mocking = testFiles(join(REPO_ROOT, 'test'))
      .filter((file) => /\bvi\.(mock|doMock|resetModules)\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file));
    expect(mocking.length).toBeGreaterThan(0);
    for (const file of mocking) expect(listed, `${file} uses vi.mock`).toContain(`'${file}'`);
  });
});
