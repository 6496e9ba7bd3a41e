/**
 * The order test files start in (test/support/longest-first-sequencer.ts): the waiting
 * `workflows` files first, longest first, then `unit`, longest first; lengths from Vitest's
 * results cache, or estimated from the file's size when the cache does not know it (a fresh clone).
 */

import { describe, expect, it } from 'vitest';
import type { TestSpecification } from 'vitest/node';
import LongestFirstSequencer from '../support/longest-first-sequencer.ts';

const ROOT = '/repo';

interface KnownFile {
  project: string;
  path: string;
  /** Duration in the results cache, if it has one. */
  ms?: number;
  bytes: number;
}

function sequencerFor(files: KnownFile[]) {
  const byKey = new Map(files.map((file) => [`${file.project}:${file.path}`, file]));
  const ctx = {
    config: { root: ROOT },
    cache: {
      getFileTestResults: (key: string) => {
        const ms = byKey.get(key)?.ms;
        return ms === undefined ? undefined : { duration: ms, failed: false };
      },
      getFileStats: (key: string) => {
        const file = byKey.get(key);
        return file ? { size: file.bytes } : undefined;
      },
    },
  };
  // The sequencer reads only the config root and the results cache of Vitest's context.
  return new LongestFirstSequencer(ctx as unknown as ConstructorParameters<typeof LongestFirstSequencer>[0]);
}

function specs(files: KnownFile[]): TestSpecification[] {
  return files.map(
    (file) =>
      ({ project: { name: file.project }, moduleId: `${ROOT}/${file.path}` }) as unknown as TestSpecification,
  );
}

async function order(files: KnownFile[]): Promise<string[]> {
  const sorted = await sequencerFor(files).sort(specs(files));
  return sorted.map((spec) => `${spec.project.name}:${spec.moduleId.slice(ROOT.length + 1)}`);
}

describe('the order test files start in', () => {
  it('starts every workflows file before any unit file, each project longest first by the cache', async () => {
    const files: KnownFile[] = [
      { project: 'unit', path: 'test/a.test.ts', ms: 20_000, bytes: 100 },
      { project: 'workflows', path: 'test/e2e/short.test.ts', ms: 3_000, bytes: 100 },
      { project: 'unit-isolated', path: 'test/mocking.test.ts', ms: 90_000, bytes: 100 },
      { project: 'unit', path: 'test/b.test.ts', ms: 500, bytes: 100 },
      { project: 'workflows', path: 'test/e2e/long.test.ts', ms: 60_000, bytes: 100 },
      { project: 'unit', path: 'test/c.test.ts', ms: 7_000, bytes: 100 },
    ];
    expect(await order(files)).toEqual([
      'workflows:test/e2e/long.test.ts',
      'workflows:test/e2e/short.test.ts',
      'unit:test/a.test.ts',
      'unit:test/c.test.ts',
      'unit:test/b.test.ts',
      'unit-isolated:test/mocking.test.ts',
    ]);
  });

  it('on a fresh clone, with no cache, orders each project by file size', async () => {
    const files: KnownFile[] = [
      { project: 'unit', path: 'test/small.test.ts', bytes: 1_000 },
      { project: 'workflows', path: 'test/w-small.test.ts', bytes: 2_000 },
      { project: 'unit', path: 'test/large.test.ts', bytes: 30_000 },
      { project: 'workflows', path: 'test/w-large.test.ts', bytes: 9_000 },
    ];
    expect(await order(files)).toEqual([
      'workflows:test/w-large.test.ts',
      'workflows:test/w-small.test.ts',
      'unit:test/large.test.ts',
      'unit:test/small.test.ts',
    ]);
  });

  it('places a file the cache does not know among those it does by its estimated length', async () => {
    // 12,000 bytes of a workflows file is estimated at about 25 s: between the 40 s and 10 s files.
    const files: KnownFile[] = [
      { project: 'workflows', path: 'test/known-10s.test.ts', ms: 10_000, bytes: 50_000 },
      { project: 'workflows', path: 'test/new.test.ts', bytes: 12_000 },
      { project: 'workflows', path: 'test/known-40s.test.ts', ms: 40_000, bytes: 1_000 },
    ];
    expect(await order(files)).toEqual([
      'workflows:test/known-40s.test.ts',
      'workflows:test/new.test.ts',
      'workflows:test/known-10s.test.ts',
    ]);
  });

  it('starts a project it does not know after the known ones', async () => {
    const files: KnownFile[] = [
      { project: 'later', path: 'test/x.test.ts', ms: 100_000, bytes: 100 },
      { project: 'unit', path: 'test/y.test.ts', ms: 1, bytes: 100 },
    ];
    expect(await order(files)).toEqual(['unit:test/y.test.ts', 'later:test/x.test.ts']);
  });
});
