/**
 * HTTP plumbing shared by the inference and admin routes: bounded body reading, JSON responses,
 * and the protocol's error body `{ "error": "<message>" }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RefusalReason, ServerErrorKind } from './metrics.ts';

/** Which counter a failed infer request increments, if any: a refusal reason or a model failure. */
type FailureKind = RefusalReason | ServerErrorKind;

/** The refusal a client-side status stands for, when the thrower does not say. */
function defaultKind(status: number): FailureKind | undefined {
  switch (status) {
    case 400:
      return 'bad_request';
    case 408:
      return 'timeout';
    case 413:
      return 'too_large';
    case 499:
      return 'client_closed';
    default:
      return undefined;
  }
}

/** An error with the HTTP status to answer with; its message goes to the client as is. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly kind: FailureKind | undefined = defaultKind(status),
    readonly headers: Readonly<Record<string, string>> = {},
    /** More members of the error body, beside `error` (a refused request's `violation`). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** Sends a JSON text (already serialised) with its length, so keep-alive connections stay usable. */
function sendJsonText(
  res: ServerResponse,
  status: number,
  json: string,
  headers?: Readonly<Record<string, string>>,
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** Sends a value as JSON. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Readonly<Record<string, string>>,
): void {
  sendJsonText(res, status, JSON.stringify(value), headers);
}

/** Sends the protocol's error body, `details` beside its `error`. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers?: Readonly<Record<string, string>>,
  details?: Readonly<Record<string, unknown>>,
): void {
  sendJsonText(res, status, JSON.stringify({ error: message, ...details }), headers);
}

// The rest of the body is not read, so this connection cannot carry another request.
const closeConnection = { connection: 'close' } as const;

const tooLarge = (limit: number) =>
  new HttpError(
    413,
    `request body is larger than the limit of ${limit} bytes (maxBodyBytes)`,
    'too_large',
    closeConnection,
  );

const tooSlow = (timeoutMs: number, received: number) =>
  new HttpError(
    408,
    `request body did not arrive within ${timeoutMs} ms (bodyTimeoutMs; ${received} bytes received)`,
    'timeout',
    closeConnection,
  );

/** How much body a request may send, and how long it may take. */
export interface BodyLimits {
  maxBodyBytes: number;
  bodyTimeoutMs: number;
}

/**
 * Reads the whole body as UTF-8, refusing more than `maxBodyBytes`: a declared Content-Length
 * over the limit fails before any byte is read, a chunked body as soon as it crosses the limit.
 * A body not complete within `bodyTimeoutMs` of the call is refused with 408: a stalled upload
 * would otherwise hold its connection, and the version it was routed to, until Node's own
 * request timeout.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<string> {
  const limit = limits.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (error: HttpError | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      if (error) {
        // Drain whatever still comes, so the socket is not left full while the answer is sent.
        req.resume();
        reject(error);
      } else resolve(text ?? '');
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return settle(tooLarge(limit));
      // Most bodies arrive in one chunk: keep it as is instead of concatenating.
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    };
    timer = setTimeout(() => settle(tooSlow(limits.bodyTimeoutMs, size)), limits.bodyTimeoutMs);
    req.on('data', onData);
    // A client that hangs up mid-body ('error' ECONNRESET, or just 'close') must not hold its
    // version (and its in-flight count) forever, or that version could never drain. 499, as nginx
    // logs it: a client giving up is not the version's fault.
    const hungUp = () => new HttpError(499, 'the client closed the connection before the body was complete');
    req.once('error', () => settle(hungUp()));
    req.once('close', () => {
      if (!req.complete) settle(hungUp());
    });
    req.once('end', () => {
      if (chunks !== undefined) settle(undefined, Buffer.concat(chunks, size).toString('utf8'));
      else settle(undefined, first === undefined ? '' : first.toString('utf8'));
    });
  });
}

/** A percent-decoded URL path segment; malformed escapes are the client's mistake (400). */
export function decodePathPart(part: string): string {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in URL path segment "${part}"`);
  }
}
