/**
 * Model bytes from an `https://` source: a byte stream that stops at a size cap, after the
 * server's answer was classified. Whether the bytes are the right ones is the caller's digest
 * check; this module only decides whether fetching can succeed and keeps a source that never
 * ends from filling the disk.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** Why a source could not be read; `retryable` says whether trying again later can help. */
export class SourceFetchError extends Error {
  override readonly name = 'SourceFetchError';
  constructor(
    readonly kind: 'not-found' | 'refused' | 'too-large' | 'transient',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

export interface HttpsSourceOptions {
  /** Largest number of bytes read before the stream fails with `too-large`. */
  maxBytes: number;
  /** How long the server may take to answer with headers. */
  headersTimeoutMs: number;
  /** Cancels the request (the activity's cancellation). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Statuses that say "later may work": timeouts, rate limits and server trouble. */
function transientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * Fails the stream as soon as more than `maxBytes` have passed, so a server that lies about (or
 * omits) its length is stopped at the cap, not at the end of the disk.
 */
export function cappedStream(source: Readable, maxBytes: number, what: string): Readable {
  async function* capped() {
    let seen = 0;
    for await (const chunk of source) {
      seen += (chunk as Buffer).length;
      if (seen > maxBytes) {
        source.destroy();
        throw new SourceFetchError('too-large', `${what} is larger than the ${maxBytes}-byte limit`);
      }
      yield chunk as Buffer;
    }
  }
  return Readable.from(capped(), { objectMode: false });
}

/**
 * Opens `url` for reading. Refuses, before reading a byte: a redirect that leaves https, a
 * declared length over the cap, and answers that cannot become the file (404/410 are
 * `not-found`; other 4xx `refused`). Network errors, timeouts and 5xx are `transient`.
 */
export async function openHttpsSource(url: URL, options: HttpsSourceOptions): Promise<Readable> {
  const fetchImpl = options.fetch ?? fetch;
  // A timer of our own, cleared once headers arrive: the request's signal also governs the body,
  // and a large model may take far longer to stream than a server takes to answer.
  const headers = new AbortController();
  const timer = setTimeout(() => headers.abort(), options.headersTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, headers.signal]) : headers.signal;
  let response: Response;
  try {
    response = await fetchImpl(url, { signal, redirect: 'follow' });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = headers.signal.aborted
      ? `no answer within ${options.headersTimeoutMs} ms`
      : (error as Error).message || String(error);
    throw new SourceFetchError('transient', `fetching ${url.href} failed: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  const answered = response.url ? new URL(response.url) : url;
  if (answered.protocol !== 'https:') {
    await response.body?.cancel();
    throw new SourceFetchError('refused', `${url.href} redirected to ${answered.href}, which is not https`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const status = response.status;
    const kind =
      status === 404 || status === 410 ? 'not-found' : transientStatus(status) ? 'transient' : 'refused';
    throw new SourceFetchError(kind, `${url.href} answered HTTP ${status}`, status);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body.cancel();
    throw new SourceFetchError(
      'too-large',
      `${url.href} declares ${declared} bytes, over the ${options.maxBytes}-byte limit`,
    );
  }
  return cappedStream(Readable.fromWeb(response.body as WebReadableStream), options.maxBytes, url.href);
}
