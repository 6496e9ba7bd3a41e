/** Every class of malformed request gets the protocol's error body, the right status and a useful message. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  infer,
  irisRequest,
  makeBundle,
  type Reply,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

const ROW = [5.1, 3.5, 1.4, 0.2];
const tensor = (fields: Record<string, unknown>) => ({
  inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROW, ...fields }],
});

describe('malformed infer requests', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    const bundlePath = await makeBundle({ root: dir.path, version: 'v1' });
    await t.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  const expectError = (reply: Reply, status: number, message: RegExp) => {
    expect({ status: reply.status, error: (reply.body as { error?: string } | undefined)?.error }).toEqual({
      status,
      error: expect.stringMatching(message),
    });
    expect(reply.headers.get('content-type')).toBe('application/json');
  };

  const cases: [string, unknown, RegExp][] = [
    ['bad JSON', '{"inputs": [', /^request body is not valid JSON: /],
    ['a JSON array', '[1, 2]', /must be a JSON object with an "inputs" array/],
    ['no inputs', { id: 'x' }, /needs "inputs": a non-empty array .* takes "input"/],
    ['empty inputs', { inputs: [] }, /needs "inputs"/],
    ['an input that is not an object', { inputs: [42] }, /inputs\[0\] must be an object/],
    ['an unnamed input', { inputs: [{ shape: [1, 4] }] }, /inputs\[0\] needs a string "name"/],
    [
      'a wrong input name',
      { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: ROW }] },
      /model "iris" version "v1" has no input "features" \(inputs: "input"\)/,
    ],
    [
      'a wrong datatype',
      tensor({ datatype: 'FP64' }),
      /input "input": datatype FP64 does not match the model's FP32/,
    ],
    [
      'an unknown datatype',
      tensor({ datatype: 'float' }),
      /"datatype" must be one of BOOL, .* \(the model expects FP32\), got "float"/,
    ],
    [
      'a wrong dimension',
      tensor({ shape: [1, 5], data: [...ROW, 1] }),
      /shape \[1, 5\] does not match the model's \[-1, 4\]: dimension 1 must be 4/,
    ],
    ['a wrong rank', tensor({ shape: [4] }), /shape \[4\] has 1 dimensions; the model expects 2/],
    [
      'a non-integer shape',
      tensor({ shape: [1, 'four'] }),
      /"shape" must be an array of positive integers; shape\[1\] is "four"/,
    ],
    [
      'too few values',
      tensor({ shape: [2, 4] }),
      /input "input": data has 4 values, but shape \[2, 4\] needs 8/,
    ],
    ['too many values', tensor({ data: [...ROW, ...ROW] }), /data has 8 values, but shape \[1, 4\] needs 4/],
    [
      'a shape over the element limit',
      tensor({ shape: [1_000_000_000, 4] }),
      /input "input": shape \[1000000000, 4\] asks for more tensor elements than the limit of 1048576 per request \(maxElements\)/,
    ],
    [
      'a shape far larger than the body',
      tensor({ shape: [100_000, 4] }),
      /data has 4 values, but shape \[100000, 4\] needs 400000/,
    ],
    ['a string value', tensor({ data: [5.1, 3.5, 'x', 0.2] }), /data\[2\] is "x"; FP32 needs a number/],
    ['null data', tensor({ data: null }), /"data" must be an array \(flat or nested\), got null/],
    [
      'data nested deeper than the shape',
      tensor({ data: [[[5.1, 3.5, 1.4, 0.2]]] }),
      /data\[0\] is an array nested deeper than the shape/,
    ],
    [
      'the same input twice',
      { inputs: [tensor({}).inputs[0], tensor({}).inputs[0]] },
      /input "input" is given twice/,
    ],
    [
      'an unknown output',
      { ...tensor({}), outputs: [{ name: 'logits' }] },
      /outputs\[0\]: .* has no output "logits" \(outputs: "label", "probabilities"\)/,
    ],
    ['a malformed outputs list', { ...tensor({}), outputs: 'label' }, /"outputs" must be a non-empty array/],
    ['a numeric id', { ...tensor({}), id: 7 }, /"id" must be a string, got 7/],
  ];

  it.each(cases)('refuses %s with 400, naming the version that checked it', async (_, body, message) => {
    const reply = await infer(t.url, 'iris', body);
    expectError(reply, 400, message);
    expect(reply.headers.get('x-modelship-version')).toBe('v1');
  });

  it('answers 404 for an unknown model or version', async () => {
    expectError(
      await infer(t.url, 'tulip', irisRequest([ROW])),
      404,
      /model "tulip" is not loaded \(models: "iris"\)/,
    );
    expectError(
      await call(`${t.url}/v2/models/iris/versions/v9/infer`, { body: irisRequest([ROW]) }),
      404,
      /model "iris" has no version "v9" loaded \(loaded: v1\)/,
    );
    expectError(
      await infer(t.url, 'iris', irisRequest([ROW]), { 'x-modelship-version': 'v9' }),
      404,
      /no version "v9"/,
    );
    expectError(await call(`${t.url}/v2/models/tulip`), 404, /model "tulip" is not loaded/);
    expectError(await call(`${t.url}/v2/models/iris/versions/v9`), 404, /no version "v9" loaded/);
    expectError(await call(`${t.url}/v2/models/iris/explain`), 404, /no such endpoint/);
    expectError(await call(`${t.url}/nothing-here`), 404, /no such endpoint: \/nothing-here/);
  });

  it('answers 400 for a malformed percent-escape in the path', async () => {
    expectError(
      await call(`${t.url}/v2/models/%E0%A4%A/infer`, { body: irisRequest([ROW]) }),
      400,
      /malformed percent-encoding/,
    );
  });

  it('answers 405 with Allow for the wrong method', async () => {
    const get = await call(`${t.url}/v2/models/iris/infer`);
    expectError(get, 405, /use POST/);
    expect(get.headers.get('allow')).toBe('POST');
    expectError(await call(`${t.url}/v2/models/iris`, { method: 'DELETE' }), 405, /use GET/);
    expectError(await call(`${t.url}/metrics`, { method: 'POST', body: '' }), 405, /use GET/);
  });

  it('answers 413 for a body over the limit, and keeps serving', async () => {
    const huge = JSON.stringify(tensor({ shape: [300_000, 4], data: new Array(1_200_000).fill(1.5) }));
    expect(huge.length).toBeGreaterThan(1024 * 1024);
    const reply = await infer(t.url, 'iris', huge);
    expectError(reply, 413, /request body is larger than the limit of 1048576 bytes/);
    expect((await infer(t.url, 'iris', irisRequest([ROW]))).status).toBe(200);
  });

  it('has counted every refused request apart, none as an error of v1', async () => {
    const metrics = await t.admin.metrics();
    const v1 = metrics.models.iris?.v1;
    expect(v1?.errors).toEqual({ inference: 0, non_finite: 0 });
    // 404s name no version that answered, so they count nowhere; 413 and 400s are refusals.
    expect(v1?.refused).toMatchObject({ bad_request: cases.length, too_large: 1 });
    // Only requests that reached the model count: the one answered after the 413.
    expect(v1?.requests).toBe(1);
  });
});

describe('a chunked body over the limit', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer({ maxBodyBytes: 2048 });
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v1',
      bundlePath: await makeBundle({ root: dir.path, version: 'v1' }),
    });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('is cut off with 413 as soon as it crosses the limit, without Content-Length', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.url}/v2/models/iris/infer`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // No Content-Length: node sends the body chunked, so only the running count can catch it.
      req.write(`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[${'1,'.repeat(1500)}`);
      req.write('1]}]}');
      req.end();
    });
    expect(status).toBe(413);
    expect((await infer(t.url, 'iris', irisRequest([ROW]))).status).toBe(200);
  });
});
