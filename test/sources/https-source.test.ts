/**
 * `openHttpsSource` against answers a model server can give. The server is a `fetch` function
 * returning real `Response` objects (no TLS server is needed to exercise the classification and
 * the size cap); the artifact activity's tests cover the path into the store.
 */
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openHttpsSource, SourceFetchError } from '../../sources/https-source.ts';

const url = new URL('https://models.example.com/iris/model.onnx');

function answering(response: () => Response, finalUrl?: string): typeof fetch {
  return async () => {
    const answer = response();
    if (finalUrl) Object.defineProperty(answer, 'url', { value: finalUrl });
    return answer;
  };
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

async function failure(promise: Promise<unknown>): Promise<SourceFetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceFetchError);
  return error as SourceFetchError;
}

const options = { maxBytes: 1000, headersTimeoutMs: 2000 };

describe('openHttpsSource', () => {
  it('streams a body within the cap', async () => {
    const stream = await openHttpsSource(url, {
      ...options,
      fetch: answering(() => new Response(new Uint8Array(1000))),
    });
    expect(await drain(stream)).toBe(1000);
  });

  it('stops a body that runs past the cap, even when the server declares no length', async () => {
    const endless = () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(256));
          },
        }),
      );
    const stream = await openHttpsSource(url, { ...options, fetch: answering(endless) });
    const error = await failure(drain(stream));
    expect(error.kind).toBe('too-large');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('1000-byte limit');
  });

  it('refuses a declared length over the cap before reading the body', async () => {
    const big = () => new Response(new Uint8Array(10), { headers: { 'content-length': '5000' } });
    const error = await failure(openHttpsSource(url, { ...options, fetch: answering(big) }));
    expect(error.kind).toBe('too-large');
    expect(error.message).toContain('declares 5000 bytes');
  });

  it('refuses a redirect that leaves https', async () => {
    const redirected = answering(() => new Response('x'), 'http://mirror.example.com/model.onnx');
    const error = await failure(openHttpsSource(url, { ...options, fetch: redirected }));
    expect(error.kind).toBe('refused');
    expect(error.message).toContain('not https');
  });

  it.each([
    [404, 'not-found', false],
    [410, 'not-found', false],
    [403, 'refused', false],
    [429, 'transient', true],
    [503, 'transient', true],
  ] as const)('classifies HTTP %i as %s', async (status, kind, retryable) => {
    const error = await failure(
      openHttpsSource(url, { ...options, fetch: answering(() => new Response('no', { status })) }),
    );
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
  });

  it('gives up on a server that sends no headers in time, as a retryable failure', async () => {
    const silent: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      });
    const error = await failure(openHttpsSource(url, { ...options, headersTimeoutMs: 50, fetch: silent }));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('no answer within 50 ms');
  });

  it('turns a network error into a retryable failure', async () => {
    const down: typeof fetch = async () => {
      throw new TypeError('fetch failed');
    };
    const error = await failure(openHttpsSource(url, { ...options, fetch: down }));
    expect(error.retryable).toBe(true);
  });
});
