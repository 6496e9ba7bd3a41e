/**
 * How the load generator puts one inference request on the wire. Three implementations, one
 * interface, so the cost of the client itself can be measured and kept out of the numbers:
 *
 * - `http` (the default): `node:http` with a keep-alive agent.
 * - `fetch`: the platform client (undici), kept so that the comparison can be repeated.
 * - `raw` (`raw-transport.ts`): HTTP/1.1 over plain keep-alive sockets with a minimal response
 *   parser. The serving benchmark uses it so that the client never runs out of CPU before the
 *   server it measures does.
 *
 * Measured (`client_transports` in `bench/results/serving.json`, 2-core machine, Node 20): the
 * client's CPU per request is about 32 µs with `http`, 370 µs with `fetch` (11× more) and 16 µs
 * with `raw`; `http` needs about as much CPU per request as the floor server itself.
 */
import http from 'node:http';
import { VERSION_HEADER } from '../headers.ts';

/** What came back for one request. */
export interface InferReply {
  status: number;
  /** The `x-modelship-version` response header: which version answered. */
  version: string | undefined;
  body: Buffer;
}

/** One request's extra headers (routing key, version pin), already lowercase. */
export type RequestHeaders = Readonly<Record<string, string>>;

export interface Transport {
  /** Sends one body to the model's infer endpoint; rejects only with a TransportError. */
  send(body: Buffer, headers?: RequestHeaders): Promise<InferReply>;
  /** Closes idle and in-flight connections. */
  close(): void;
}

export const TransportKind = { Http: 'http', Fetch: 'fetch', Raw: 'raw' } as const;
export type TransportKind = (typeof TransportKind)[keyof typeof TransportKind];

/** A request that got no HTTP answer: the kind is how the summary counts it. */
export class TransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'connection' | 'protocol',
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface TransportOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8000`. */
  url: string;
  model: string;
  /** A request without a complete answer after this long fails as a timeout. */
  timeoutMs: number;
  /** Upper bound on open connections; the caller never has more requests in flight. */
  maxConnections: number;
}

/** The infer endpoint's URL for a base URL and model (a base path, if any, is kept). */
export function inferUrl(base: string, model: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(model)}/infer`;
  return url;
}

/** Maps a socket error to the transport's error kinds. */
export function toTransportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code;
  const detail = err.cause?.message ?? err.message;
  if (code === 'ETIMEDOUT' || err.name === 'TimeoutError') return new TransportError('timeout', detail);
  return new TransportError('connection', code ? `${code}: ${detail}` : detail);
}

/** `node:http` with a keep-alive agent: the default, and what `modelship load` uses. */
export function createHttpTransport(options: TransportOptions): Transport {
  const url = inferUrl(options.url, options.model);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxConnections });
  const base = { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, agent };
  return {
    send(body, headers) {
      return new Promise((resolve, reject) => {
        const request = http.request(
          {
            ...base,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', (error) => reject(toTransportError(error)));
            response.on('end', () => {
              const version = response.headers[VERSION_HEADER];
              resolve({
                status: response.statusCode ?? 0,
                version: Array.isArray(version) ? version[0] : version,
                body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks),
              });
            });
          },
        );
        request.setTimeout(options.timeoutMs, () => {
          request.destroy(new TransportError('timeout', `no answer within ${options.timeoutMs} ms`));
        });
        request.on('error', (error) => reject(toTransportError(error)));
        request.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** The platform's `fetch` (undici); slower, kept to compare against. */
export function createFetchTransport(options: TransportOptions): Transport {
  const url = inferUrl(options.url, options.model).toString();
  const controller = new AbortController();
  return {
    async send(body, headers) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...headers },
          signal: AbortSignal.any([controller.signal, AbortSignal.timeout(options.timeoutMs)]),
        });
        const bytes = Buffer.from(await response.arrayBuffer());
        return {
          status: response.status,
          version: response.headers.get(VERSION_HEADER) ?? undefined,
          body: bytes,
        };
      } catch (error) {
        throw toTransportError(error);
      }
    },
    close() {
      controller.abort();
    },
  };
}
