/** INT64, BOOL and BYTES tensors in and out, with the range and type checks each one needs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typedModel } from './hand-made-models.ts';
import {
  call,
  infer,
  makeBundle,
  outputsOf,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

const INTERFACE = `    inputs:
      - { name: ids, dtype: int64, shape: [-1, 2] }
      - { name: mask, dtype: bool, shape: [-1, 2] }
      - { name: words, dtype: string, shape: [-1] }
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
      - { name: flipped, dtype: bool, shape: [-1, 2] }
      - { name: echo, dtype: string, shape: [-1] }
`;

const request = (overrides: Record<string, Record<string, unknown>> = {}) => ({
  inputs: [
    {
      name: 'ids',
      shape: [2, 2],
      datatype: 'INT64',
      data: [
        [3, 9007199254740991],
        [-4, 2],
      ],
      ...overrides.ids,
    },
    { name: 'mask', shape: [2, 2], datatype: 'BOOL', data: [true, false, false, false], ...overrides.mask },
    { name: 'words', shape: [2], datatype: 'BYTES', data: ['héllo', 'a "quoted" word'], ...overrides.words },
  ],
});

describe('non-float datatypes', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    const bundlePath = await makeBundle({
      root: dir.path,
      version: 't1',
      model: 'typed',
      onnx: typedModel(),
      interface: INTERFACE,
    });
    await t.admin.loadVersion({ model: 'typed', version: 't1', bundlePath });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('describes INT64, BOOL and BYTES tensors', async () => {
    const reply = await call(`${t.url}/v2/models/typed`);
    expect(reply.body).toMatchObject({
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [-1, 2] },
        { name: 'mask', datatype: 'BOOL', shape: [-1, 2] },
        { name: 'words', datatype: 'BYTES', shape: [-1] },
      ],
    });
  });

  it('round-trips them exactly, 2^53 - 1 and UTF-8 included', async () => {
    const reply = await infer(t.url, 'typed', request());
    expect(reply.status).toBe(200);
    expect(outputsOf(reply)).toEqual([
      { name: 'label', datatype: 'INT64', shape: [2], data: [9007199254740991, 2] },
      { name: 'flipped', datatype: 'BOOL', shape: [2, 2], data: [false, true, true, true] },
      { name: 'echo', datatype: 'BYTES', shape: [2], data: ['héllo', 'a "quoted" word'] },
    ]);
    expect(reply.text).toContain('"data":[9007199254740991,2]');
    // String classes are counted as they are.
    expect((await t.admin.metrics()).models.typed?.t1?.predictions).toEqual({
      '2': 1,
      '9007199254740991': 1,
    });
  });

  it.each([
    [
      'a fraction in INT64',
      { ids: { data: [1.5, 2, 3, 4] } },
      /input "ids": data\[0\] is 1.5; INT64 needs an integer from -9007199254740991 to 9007199254740991/,
    ],
    [
      'an integer past 2^53 in INT64',
      { ids: { data: [2 ** 60, 2, 3, 4] } },
      /data\[0\] is 1152921504606847000; INT64 needs an integer/,
    ],
    [
      'a number in BOOL',
      { mask: { data: [1, 0, 0, 0] } },
      /input "mask": data\[0\] is 1; BOOL needs true or false/,
    ],
    [
      'a number in BYTES',
      { words: { data: ['a', 7] } },
      /input "words": data\[1\] is 7; BYTES needs a string/,
    ],
    [
      'too few strings',
      { words: { data: ['a'] } },
      /input "words": data has 1 values, but shape \[2\] needs 2/,
    ],
    [
      'too many strings',
      { words: { data: ['a', 'b', 'c'] } },
      /input "words": data has 3 values, but shape \[2\] needs 2/,
    ],
    [
      'INT32 for an INT64 input',
      { ids: { datatype: 'INT32' } },
      /input "ids": datatype INT32 does not match the model's INT64/,
    ],
  ])('refuses %s', async (_, overrides, message) => {
    const reply = await infer(t.url, 'typed', request(overrides));
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(message);
  });

  it('refuses a request that leaves out an input, naming all of them', async () => {
    const body = request();
    const reply = await infer(t.url, 'typed', { inputs: body.inputs.slice(0, 2) });
    expect(reply.body).toEqual({
      error: 'missing input "words" (model "typed" needs "ids", "mask", "words")',
    });
  });
});
