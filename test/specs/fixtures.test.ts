/**
 * The fixture folders are the spec language's acceptance tests: every valid fixture and every
 * documented example parses, and every invalid fixture fails with exactly the error text pinned
 * in `__snapshots__/invalid/<fixture>.txt`, positions included.
 */
import { describe, expect, it } from 'vitest';
import { formatSpecError } from '../../specs/parse.ts';
import { parseRepoSpec, yamlFilesIn } from './helpers.ts';

const valid = [...yamlFilesIn('test/fixtures/specs/valid'), ...yamlFilesIn('specs/examples')];
const invalid = yamlFilesIn('test/fixtures/specs/invalid');

describe('valid specs', () => {
  it('include the documented examples', () => {
    expect(valid).toContain('specs/examples/iris.yaml');
    expect(valid).toContain('specs/examples/breast-cancer.yaml');
  });

  it.each(valid)('%s parses', (file) => {
    const result = parseRepoSpec(file);
    // The error text, not just `false`, so a failure says what broke.
    expect(result.ok ? [] : result.errors.map(formatSpecError)).toEqual([]);
  });
});

describe('invalid specs', () => {
  it('are at least a dozen, one mistake each', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(12);
  });

  it.each(invalid)('%s fails with its pinned errors', async (file) => {
    const result = parseRepoSpec(file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const name = file
      .split('/')
      .at(-1)
      ?.replace(/\.yaml$/, '');
    await expect(`${result.errors.map(formatSpecError).join('\n')}\n`).toMatchFileSnapshot(
      `__snapshots__/invalid/${name}.txt`,
    );
  });
});
