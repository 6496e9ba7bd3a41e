/** The nesting scan that runs before every JSON body is parsed: exact offsets, strings skipped. */
import { describe, expect, it } from 'vitest';
import { parseJsonBody, tooDeepAt } from '../../serving/safe-json.ts';

describe('tooDeepAt', () => {
  it.each([
    ['[[[]]]', 2, 2],
    ['[[[]]]', 3, -1],
    ['[{"x":[1,2]}]', 2, 6],
    ['{"a":"[[[[[["}', 1, -1],
    ['{"a":"\\"[[[["}', 1, -1],
    ['{"a":"\\\\"}[[', 1, 11],
    ['{"a":"\\\\\\"[[["}', 1, -1],
    ['"unterminated [[[[', 0, -1],
    ['', 1, -1],
  ])('finds the first level past the limit in %s (limit %i) at %i', (text, max, at) => {
    expect(tooDeepAt(text, max)).toBe(at);
  });

  it('scans a million levels without recursion', () => {
    expect(tooDeepAt(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`, 32)).toBe(32);
  });
});

describe('parseJsonBody', () => {
  it('parses, or refuses with a 400 saying why', () => {
    expect(parseJsonBody('{"a":[1]}', 4)).toEqual({ a: [1] });
    expect(() => parseJsonBody('[[[[[1]]]]]', 4)).toThrow(
      'request body nests arrays and objects deeper than the limit of 4 levels (maxJsonDepth), at character 4',
    );
    expect(() => parseJsonBody('{"a":', 4)).toThrow(/^request body is not valid JSON: /);
  });
});
