/**
 * Values a tensor of the declared datatype cannot hold are the client's mistake: 400 naming the
 * input and the element, never a 500 from the model, never an error of the version. Before these
 * checks, 1e39 in FP32 was stored as Infinity, the model answered NaN, and the version was charged
 * a server error. One hand-made model takes one input of each numeric width (`narrowModel`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narrowModel } from './hand-made-models.ts';
import { infer, makeBundle, outputsOf, scratchDir, startTestServer, type TestServer } from './support.ts';

const INTERFACE = `    inputs:
      - { name: i8, dtype: int8, shape: [-1] }
      - { name: u8, dtype: uint8, shape: [-1] }
      - { name: i16, dtype: int16, shape: [-1] }
      - { name: i32, dtype: int32, shape: [-1] }
      - { name: f32, dtype: float32, shape: [-1] }
      - { name: f64, dtype: float64, shape: [-1] }
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
`;

const DATATYPES = { i8: 'INT8', u8: 'UINT8', i16: 'INT16', i32: 'INT32', f32: 'FP32', f64: 'FP64' } as const;
type InputName = keyof typeof DATATYPES;

/** Two elements per input; `data` overrides one input's (as JSON text, so 1e400 stays 1e400). */
function body(name?: InputName, data?: string): string {
  const inputs = (Object.keys(DATATYPES) as InputName[]).map(
    (input) =>
      `{"name":"${input}","shape":[2],"datatype":"${DATATYPES[input]}","data":${input === name ? data : '[1,2]'}}`,
  );
  return `{"inputs":[${inputs.join(',')}]}`;
}

describe('values outside their datatype', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    const bundlePath = await makeBundle({
      root: dir.path,
      version: 'n1',
      model: 'narrow',
      onnx: narrowModel(),
      interface: INTERFACE,
    });
    await t.admin.loadVersion({ model: 'narrow', version: 'n1', bundlePath });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('accepts every edge of every range, exactly', async () => {
    const edges: Record<InputName, string> = {
      i8: '[-128,127]',
      u8: '[0,255]',
      i16: '[-32768,32767]',
      i32: '[-2147483648,2147483647]',
      f32: '[-3.4028234663852886e38,3.4028234663852886e38]',
      f64: '[-1.7976931348623157e308,5e-324]',
    };
    let text = body();
    for (const [name, data] of Object.entries(edges)) {
      text = text.replace(`"datatype":"${DATATYPES[name as InputName]}","data":[1,2]`, (match) =>
        match.replace('[1,2]', data),
      );
    }
    const reply = await infer(t.url, 'narrow', text);
    expect(reply.status).toBe(200);
    const out = Object.fromEntries(outputsOf(reply).map((o) => [o.name, o.data]));
    expect(out).toMatchObject({ i8_out: [-128, 127], u8_out: [0, 255], i32_out: [-2147483648, 2147483647] });
  });

  const cases: [string, InputName, string, RegExp][] = [
    ['1e39 in FP32', 'f32', '[1,1e39]', /input "f32": data\[1\] is 1e\+39; FP32 needs a number from -3\.40/],
    ['-1e39 in FP32', 'f32', '[-1e39,1]', /input "f32": data\[0\] is -1e\+39; FP32 needs/],
    [
      '1e400 (Infinity) in FP64',
      'f64',
      '[1e400,1]',
      /input "f64": data\[0\] is Infinity; FP64 needs a finite number/,
    ],
    ['"NaN" in FP32', 'f32', '["NaN",1]', /input "f32": data\[0\] is "NaN"; FP32 needs a number/],
    [
      '"Infinity" in FP64',
      'f64',
      '[1,"Infinity"]',
      /input "f64": data\[1\] is "Infinity"; FP64 needs a number/,
    ],
    ['"-inf" in FP32', 'f32', '["-inf",1]', /data\[0\] is "-inf"; FP32 needs a number/],
    ['null in FP32', 'f32', '[null,1]', /data\[0\] is null; FP32 needs a number/],
    ['128 in INT8', 'i8', '[1,128]', /input "i8": data\[1\] is 128; INT8 needs an integer from -128 to 127/],
    ['-129 in INT8', 'i8', '[-129,1]', /data\[0\] is -129; INT8 needs an integer from -128 to 127/],
    ['1.5 in INT8', 'i8', '[1.5,1]', /data\[0\] is 1.5; INT8 needs an integer/],
    ['256 in UINT8', 'u8', '[256,1]', /input "u8": data\[0\] is 256; UINT8 needs an integer from 0 to 255/],
    ['-1 in UINT8', 'u8', '[-1,1]', /data\[0\] is -1; UINT8 needs an integer from 0 to 255/],
    [
      '32768 in INT16',
      'i16',
      '[32768,1]',
      /input "i16": data\[0\] is 32768; INT16 needs an integer from -32768/,
    ],
    [
      '2^31 in INT32',
      'i32',
      '[1,2147483648]',
      /input "i32": data\[1\] is 2147483648; INT32 needs an integer/,
    ],
    ['1e39 in INT32', 'i32', '[1e39,1]', /data\[0\] is 1e\+39; INT32 needs an integer/],
    ['"7" in INT32', 'i32', '["7",1]', /data\[0\] is "7"; INT32 needs an integer/],
    ['"NaN" in INT16', 'i16', '["NaN",1]', /data\[0\] is "NaN"; INT16 needs an integer/],
    ['true in UINT8', 'u8', '[true,1]', /data\[0\] is true; UINT8 needs an integer/],
    ['a nested element in INT8', 'i8', '[[1],2]', /data\[0\] is an array nested deeper than the shape/],
  ];

  it.each(cases)('refuses %s with 400 naming the input and element', async (_, name, data, message) => {
    const reply = await infer(t.url, 'narrow', body(name, data));
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(reply.body).toEqual({ error: expect.stringMatching(message) });
    expect(reply.text).not.toMatch(/\n\s+at /);
  });

  it('charged none of it to the version, and still answers', async () => {
    const n1 = (await t.admin.metrics()).models.narrow?.n1;
    expect(n1?.errors).toEqual({ inference: 0, non_finite: 0 });
    expect(n1?.refused.bad_request).toBe(cases.length);
    expect(n1?.requests).toBe(1);
    expect((await infer(t.url, 'narrow', body())).status).toBe(200);
  });
});
