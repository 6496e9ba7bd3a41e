/**
 * HTTP plumbing shared by the inference and admin routes: bounded body reading, JSON responses,
 * and the protocol's error body `{ "error": "<message>" }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Which error counter a failed infer request increments, if any. */
type ErrorKind = 'bad_request' | 'inference' | 'non_finite';

/** An error with the HTTP status to answer with; its message goes to the client as is. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly kind: ErrorKind | undefined = status === 400 || status === 413 ? 'bad_request' : undefined,
    readonly headers: Readonly<Record<string, string>> = {},
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

/** Sends the protocol's error body. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers?: Readonly<Record<string, string>>,
): void {
  sendJsonText(res, status, JSON.stringify({ error: message }), headers);
}

const tooLarge = (limit: number) =>
  new HttpError(413, `request body is larger than the limit of ${limit} bytes`, 'bad_request', {
    // The rest of the body is not read, so this connection cannot carry another request.
    connection: 'close',
  });

/**
 * Reads the whole body as UTF-8, refusing more than `limit` bytes: a declared Content-Length
 * over the limit fails before any byte is read, a chunked body as soon as it crosses the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      // Most bodies arrive in one chunk: keep it as is instead of concatenating.
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    };
    req.on('data', onData);
    // A client that hangs up mid-body ('error' ECONNRESET, or just 'close') must not hold its
    // version (and its in-flight count) forever, or that version could never drain. 499, as nginx
    // logs it, and no error kind: a client giving up is not the version's fault.
    const hungUp = () => new HttpError(499, 'the client closed the connection before the body was complete');
    req.once('error', () => reject(hungUp()));
    req.once('close', () => {
      if (!req.complete) reject(hungUp());
    });
    req.once('end', () => {
      if (size > limit) return;
      if (chunks !== undefined) resolve(Buffer.concat(chunks, size).toString('utf8'));
      else resolve(first === undefined ? '' : first.toString('utf8'));
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
