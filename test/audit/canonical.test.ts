import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf } from '../../audit/canonical.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth, so key order never changes the text', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(digestOf(b)).toBe(digestOf(a));
    // String order, not JavaScript's own order for integer-like keys (which would put 9 first).
    expect(canonicalJson({ 9: 'a', 10: 'b', B: 1, a: 2 })).toBe('{"10":"b","9":"a","B":1,"a":2}');
  });

  it('keeps array order: arrays are sequences, not sets', () => {
    expect(digestOf([1, 2])).not.toBe(digestOf([2, 1]));
    expect(canonicalJson([[1, [2, []]], []])).toBe('[[1,[2,[]]],[]]');
  });

  it('drops undefined members, turns undefined array items and a top-level undefined into null', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(digestOf({ a: undefined, b: 1 })).toBe(digestOf({ b: 1 }));
    expect(canonicalJson([1, undefined, 3])).toBe('[1,null,3]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('writes numbers, strings and toJSON values the way JSON does, -0 as 0', () => {
    expect(canonicalJson({ n: 1e21, f: 0.1, z: -0, s: 'é\n"\ud800' })).toBe(
      '{"f":0.1,"n":1e+21,"s":"é\\n\\"\\ud800","z":0}',
    );
    expect(canonicalJson({ at: new Date('2026-05-01T00:00:00Z') })).toBe('{"at":"2026-05-01T00:00:00.000Z"}');
  });

  it('takes values the way JSON.stringify (and so Temporal) does, keys sorted', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const value = {
      nan: Number.NaN,
      inf: [Number.NEGATIVE_INFINITY],
      fn: () => 1,
      sym: Symbol('s'),
      list: [() => 1, Symbol('t'), undefined],
      boxed: [new Number(2), new String('s'), new Boolean(false)],
      point: new Point(1, 2),
      map: new Map([['a', 1]]),
      bytes: new Uint8Array([7, 8]),
    };
    expect(canonicalJson(value)).toBe(
      '{"boxed":[2,"s",false],"bytes":{"0":7,"1":8},"inf":[null],"list":[null,null,null],"map":{},' +
        '"nan":null,"point":{"x":1,"y":2}}',
    );
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('throws, as JSON.stringify does, on bigint and cycles, naming where', () => {
    expect(() => canonicalJson({ big: [1n] })).toThrow('$.big[0] is a bigint');
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow('$.a.back refers back to itself (cycle)');
  });

  it('digests as sha256 hex over the canonical UTF-8 text', () => {
    const expected = createHash('sha256').update('{"a":[1,"x",null],"b":true}').digest('hex');
    expect(digestOf({ b: true, a: [1, 'x', null] })).toBe(expected);
  });

  it('accepts shared (non-cyclic) references', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });
});
