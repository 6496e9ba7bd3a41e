/**
 * Requests built to hurt the server, class by class: each is refused with a 4xx and a JSON
 * `{"error"}` that says what is wrong, counted as a refusal (never as the version's error), and
 * the server answers a normal request right after. Limits are set low where the default would
 * make a test slow or large; `limits.ts` has the defaults, `serving/README.md` the table.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveLimits, ServingConfigError } from '../../serving/limits.ts';
import { repoPath } from '../support/paths.ts';
import { rawRequest } from './raw-http.ts';
import {
  call,
  infer,
  irisRequest,
  makeBundle,
  type Reply,
  scratchDir,
  startTestServer,
  type TestServer,
  TOKEN,
} from './support.ts';

const ROW = [5.1, 3.5, 1.4, 0.2];

const expectRefused = (reply: Reply, status: number, message: RegExp) => {
  expect({ status: reply.status, body: reply.body }).toEqual({
    status,
    body: { error: expect.stringMatching(message) },
  });
  expect(reply.headers.get('content-type')).toBe('application/json');
  expect(reply.text).not.toMatch(/\n\s+at /);
};

/** A server with `limits` and iris v1 loaded, for one describe block. */
function irisServer(limits: Parameters<typeof startTestServer>[0] = {}) {
  let t: TestServer | undefined;
  let dir: Awaited<ReturnType<typeof scratchDir>> | undefined;
  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer(limits);
    const bundlePath = await makeBundle({ root: dir.path, version: 'v1' });
    await t.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });
  const server = () => {
    if (!t) throw new Error('the server did not start');
    return t;
  };
  /** v1's counters now. */
  const v1 = async () => {
    const counters = (await server().admin.metrics()).models.iris?.v1;
    if (!counters) throw new Error('no counters for v1');
    return counters;
  };
  const stillServes = async () =>
    expect((await infer(server().url, 'iris', irisRequest([ROW]))).status).toBe(200);
  return { url: () => server().url, v1, stillServes };
}

describe('amplification: outputs named many times, answers larger than the limit', () => {
  const { url, v1, stillServes } = irisServer({ maxResponseBytes: 64 * 1024 });

  it('refuses an output named twice, before the model runs', async () => {
    const before = await v1();
    const reply = await infer(
      url(),
      'iris',
      irisRequest([ROW], {
        outputs: [{ name: 'probabilities' }, { name: 'label' }, { name: 'probabilities' }],
      }),
    );
    expectRefused(reply, 400, /^outputs\[2\]: output "probabilities" is already requested at outputs\[0\]$/);
    const after = await v1();
    expect(after.requests).toBe(before.requests);
    expect(after.latency.count).toBe(before.latency.count);
    expect(after.refused.bad_request).toBe(before.refused.bad_request + 1);
    await stillServes();
  });

  it('refuses an answer over maxResponseBytes with 413, as a refusal, not an error', async () => {
    const rows = Array.from({ length: 3000 }, () => ROW);
    const reply = await infer(url(), 'iris', irisRequest(rows));
    expectRefused(
      reply,
      413,
      /^the response would be larger than the limit of 65536 bytes \(maxResponseBytes\); send fewer rows/,
    );
    expect(reply.headers.get('x-modelship-version')).toBe('v1');
    const counters = await v1();
    expect(counters.refused.response_too_large).toBe(1);
    expect(counters.errors).toEqual({ inference: 0, non_finite: 0 });
    // An answer within the limit is still given whole.
    expect((await infer(url(), 'iris', irisRequest(rows.slice(0, 500)))).status).toBe(200);
  });

  it('keeps memory bounded under a flood of amplifying and deeply nested requests', async () => {
    // Each would answer about 45 MB without the duplicate check: 1,000 rows, 1,000 copies.
    const amplify = JSON.stringify(
      irisRequest(
        Array.from({ length: 1000 }, () => ROW),
        { outputs: Array.from({ length: 1000 }, () => ({ name: 'probabilities' })) },
      ),
    );
    const deep = `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${'['.repeat(500_000)}${']'.repeat(500_000)}}]}`;
    const peakBefore = process.resourceUsage().maxRSS;
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => infer(url(), 'iris', i % 2 === 0 ? amplify : deep)),
    );
    expect(new Set(replies.map((reply) => reply.status))).toEqual(new Set([400]));
    // maxRSS is the process's peak (KiB): the flood may not have raised it by more than the
    // request bodies themselves (client and server share this process).
    expect((process.resourceUsage().maxRSS - peakBefore) / 1024).toBeLessThan(200);
    await stillServes();
  });
});

describe('nesting and element count', () => {
  const { url, v1, stillServes } = irisServer({ maxElements: 100 });

  it('refuses extreme nesting with a huge shape before parsing, saying where', async () => {
    const head = '{"inputs":[{"name":"input","shape":[1000000000,1000000000],"datatype":"FP32","data":';
    const reply = await infer(url(), 'iris', `${head}${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`);
    // Three levels before the data: the 30th bracket of the data opens level 33.
    expectRefused(
      reply,
      400,
      new RegExp(
        `^request body nests arrays and objects deeper than the limit of 32 levels \\(maxJsonDepth\\), at character ${head.length + 29}$`,
      ),
    );
    await stillServes();
  });

  it('refuses deep nesting anywhere in the body: id, outputs, the admin API', async () => {
    expectRefused(
      await infer(url(), 'iris', `{"id":${'['.repeat(40)}${']'.repeat(40)},"inputs":[]}`),
      400,
      /deeper than the limit of 32 levels/,
    );
    const admin = await call(`${url()}/admin/v1/models/iris/promote`, {
      method: 'POST',
      body: `{"version":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expectRefused(admin, 400, /deeper than the limit of 32 levels/);
  });

  it('counts brackets inside strings as text, not nesting', async () => {
    const reply = await infer(url(), 'iris', irisRequest([ROW], { id: `${'[{'.repeat(100)}\\"]` }));
    expect(reply.status).toBe(200);
  });

  it('refuses a shape over maxElements before allocating, nested data or not', async () => {
    const rows = Array.from({ length: 26 }, () => ROW);
    expectRefused(
      await infer(url(), 'iris', irisRequest(rows)),
      400,
      /^input "input": shape \[26, 4\] asks for more tensor elements than the limit of 100 per request \(maxElements\)$/,
    );
    // Nesting within the limit, a shape far too large for the body: refused on the shape.
    const nested = `{"inputs":[{"name":"input","shape":[4294967296,4],"datatype":"FP32","data":${'['.repeat(20)}1${']'.repeat(20)}}]}`;
    expectRefused(await infer(url(), 'iris', nested), 400, /shape \[4294967296, 4\] asks for more/);
    expect((await infer(url(), 'iris', irisRequest(rows.slice(0, 25)))).status).toBe(200);
    expect((await v1()).errors).toEqual({ inference: 0, non_finite: 0 });
  });
});

describe("Node's own refusals and slow clients", () => {
  const { url, v1, stillServes } = irisServer({ headersTimeoutMs: 300, bodyTimeoutMs: 300 });

  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, /^malformed HTTP request: /],
    ['an invalid method', 'G@T /v2 HTTP/1.1\r\nHost: x\r\n\r\n', 400, /^malformed HTTP request: /],
    [
      'an invalid Content-Length',
      'POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      400,
      /^malformed HTTP request: /,
    ],
    [
      'a malformed chunk in the body',
      'POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      400,
      /^malformed HTTP request: /,
    ],
    [
      'Content-Length and chunked together',
      'POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      /^malformed HTTP request: /,
    ],
    [
      'a head over maxHeaderBytes',
      `GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /^request line and headers are larger than the limit of 16384 bytes \(maxHeaderBytes\)$/,
    ],
  ])('answers %s with a JSON body and closes', async (_, request, status, message) => {
    const reply = await rawRequest(url(), request);
    expect(reply.status).toBe(status);
    expect(reply.head).toMatch(/\r\ncontent-type: application\/json\r\n/);
    expect(reply.body).toEqual({ error: expect.stringMatching(message) });
    await stillServes();
  });

  it('answers a stalled body with 408 within its body timeout, as a refusal', async () => {
    const body = JSON.stringify(irisRequest([ROW]));
    const reply = await rawRequest(
      url(),
      `POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    expect(reply.status).toBe(408);
    expect(reply.body).toEqual({
      error: 'request body did not arrive within 300 ms (bodyTimeoutMs; 10 bytes received)',
    });
    expect(reply.head).toMatch(/\r\nx-modelship-version: v1\r\n/);
    expect(reply.ms).toBeLessThan(2_000);
    const counters = await v1();
    expect(counters.refused.timeout).toBe(1);
    expect(counters.errors).toEqual({ inference: 0, non_finite: 0 });
    await stillServes();
  });

  it('answers a stalled head with 408 and JSON', async () => {
    const reply = await rawRequest(url(), 'POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\n');
    expect(reply.status).toBe(408);
    expect(reply.body).toEqual({ error: expect.stringMatching(/^request did not arrive in time/) });
    expect(reply.ms).toBeLessThan(3_000);
  });

  it('keeps an idle keep-alive connection longer than the head timeout', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = request(`${url()}/v2/health/live`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
        });
        req.on('error', reject);
        req.end();
      });
    const first = await get();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const second = await get();
    agent.destroy();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.socket).toBe(first.socket);
  });
});

describe('limits', () => {
  it('refuses unusable limits before listening', () => {
    expect(() => resolveLimits({ maxJsonDepth: 0 })).toThrow(ServingConfigError);
    expect(() => resolveLimits({ bodyTimeoutMs: 1.5 })).toThrow(
      /bodyTimeoutMs must be an integer of at least 100/,
    );
    expect(resolveLimits({ maxElements: 7 })).toEqual({ ...DEFAULT_LIMITS, maxElements: 7 });
  });

  it('are documented in serving/README.md with their defaults', async () => {
    const readme = await readFile(repoPath('serving/README.md'), 'utf8');
    for (const [key, value] of Object.entries(DEFAULT_LIMITS)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\``));
      expect(row, key).toBeDefined();
      expect(row, key).toContain(`| ${value} `);
    }
  });
});
