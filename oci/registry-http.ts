/**
 * One request to a registry: authentication (`registry-auth.ts`), a timeout on the answer's
 * headers, the registry's error body turned into an `OciError` that names the registry,
 * repository and content, and retries.
 *
 * Retries: GET and HEAD are idempotent, so network errors, timeouts, 429 and 5xx are retried
 * here (`retries` more times, exponential backoff from `backoffMs`). Uploads (POST, PATCH, PUT)
 * are not: their failure is an `OciError` of kind `transient`, and the caller retries the whole
 * push, which is safe because content is addressed by digest and a blob already uploaded is found
 * by HEAD and skipped.
 */
import { z } from 'zod';
import { OciError, type OciErrorKind, type RegistryErrorCode } from './errors.ts';
import { assertRepository } from './reference.ts';
import type { RegistryAuth } from './registry-auth.ts';

/** How the client talks to one registry. */
export interface RegistryConnection {
  /** The registry's origin, e.g. `https://registry.example.com` or `http://127.0.0.1:5000`. */
  origin: URL;
  auth: RegistryAuth;
  fetch: typeof fetch;
  /** How long a request may wait for the answer's headers (a body may stream for longer). */
  timeoutMs: number;
  retries: number;
  backoffMs: number;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** A path below the origin (`/v2/…`) or an absolute URL (an upload's `Location`). */
  url: string | URL;
  repository: string;
  /** Whether the request writes (Bearer scope `pull,push` rather than `pull`). */
  push: boolean;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** What is asked for, e.g. `blob sha256:…`; errors read `<what> in repository <r> at registry <o>`. */
  what: string;
  /** Statuses the caller handles itself instead of an error (e.g. 404 on a HEAD). */
  accept?: readonly number[];
  signal?: AbortSignal;
}

const ErrorBody = z.object({
  errors: z.array(
    z.object({ code: z.string(), message: z.string().optional(), detail: z.unknown().optional() }).loose(),
  ),
});

const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** What a bodiless answer (a HEAD's) means, for its message. */
const STATUS_MEANING: Record<number, string> = {
  401: 'credentials missing or refused',
  403: 'access denied',
  404: 'not found',
};

function transientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

function kindOf(status: number, codes: readonly RegistryErrorCode[]): OciErrorKind {
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 413) return 'too-large';
  if (transientStatus(status)) return 'transient';
  if (codes.some((entry) => entry.code === 'DIGEST_INVALID')) return 'digest-mismatch';
  return 'refused';
}

/** Where a request went, for messages: `blob sha256:… in repository r at registry https://h`. */
export function describeTarget(
  connection: RegistryConnection,
  request: { what: string; repository: string },
) {
  return `${request.what} in repository ${request.repository} at registry ${connection.origin.origin}`;
}

/** Turns a registry's error answer into an `OciError`, reading its JSON `errors` body if any. */
export async function errorFrom(
  connection: RegistryConnection,
  request: RegistryRequest,
  response: Response,
): Promise<OciError> {
  // Capped: an error body is quoted, never trusted to be small.
  const text =
    request.method === 'HEAD'
      ? ''
      : await readCapped(response, MAX_ERROR_BODY_BYTES, 'error body').then(
          (bytes) => bytes.toString('utf8'),
          () => '',
        );
  let codes: RegistryErrorCode[] = [];
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success)
      codes = parsed.data.errors.map((entry) => ({ code: entry.code, message: entry.message ?? '' }));
  } catch {
    // Not JSON (a proxy's page, or distribution's own "404 page not found"): quoted below.
  }
  const said =
    codes.length > 0
      ? codes.map((entry) => `${entry.code}${entry.message ? ` (${entry.message})` : ''}`).join(', ')
      : text.trim().slice(0, 200) || STATUS_MEANING[response.status];
  const auth = response.status === 401 || response.status === 403 ? ` as ${connection.auth.who()}` : '';
  return new OciError(
    kindOf(response.status, codes),
    `${describeTarget(connection, request)}: ${request.method}${auth} answered HTTP ${response.status}${said ? `: ${said}` : ''}`,
    { status: response.status, codes },
  );
}

/** The media type of a `Content-Type` header, without parameters. */
export function mediaTypeOf(header: string | null): string | undefined {
  const value = header?.split(';')[0]?.trim();
  return value ? value : undefined;
}

/** Reads a body of at most `maxBytes`, refusing (and cancelling) one that is longer. */
export async function readCapped(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new OciError('too-large', `${what} is ${declared} bytes, over the ${maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let seen = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    seen += chunk.length;
    if (seen > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new OciError('too-large', `${what} is over the ${maxBytes}-byte limit`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function scopeOf(request: RegistryRequest): string {
  return `repository:${request.repository}:${request.push ? 'pull,push' : 'pull'}`;
}

/** One attempt, authenticated, re-sent once when the registry's challenge teaches a new header. */
async function attempt(
  connection: RegistryConnection,
  request: RegistryRequest,
  url: URL,
): Promise<Response> {
  const scope = scopeOf(request);
  for (let retried = false; ; retried = true) {
    const headers: Record<string, string> = { ...request.headers };
    // Credentials go only to the registry's own origin, never to where an upload was sent.
    if (url.origin === connection.origin.origin) {
      const authorization = await connection.auth.header(scope);
      if (authorization) headers.authorization = authorization;
    }
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), connection.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timer.signal]) : timer.signal;
    let response: Response;
    try {
      response = await connection.fetch(url, {
        method: request.method,
        headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal,
      });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      const reason = timer.signal.aborted
        ? `no answer within ${connection.timeoutMs} ms`
        : (error as Error & { cause?: Error }).cause?.message || (error as Error).message;
      throw new OciError(
        'transient',
        `${describeTarget(connection, request)}: ${request.method} failed: ${reason}`,
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(timeout);
    }
    if (response.status !== 401) return response;
    if (!connection.auth.learn(response.headers.get('www-authenticate'), scope, retried)) return response;
    await response.body?.cancel();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * Sends `request` and returns the answer when it is a success (or a status in `accept`);
 * otherwise throws an `OciError`. The caller reads or cancels the body of what it gets back.
 */
export async function send(connection: RegistryConnection, request: RegistryRequest): Promise<Response> {
  assertRepository(request.repository);
  const url = typeof request.url === 'string' ? new URL(request.url, connection.origin) : request.url;
  const idempotent = request.method === 'GET' || request.method === 'HEAD';
  for (let tries = 0; ; tries++) {
    let failure: OciError;
    try {
      const response = await attempt(connection, request, url);
      if (response.ok || request.accept?.includes(response.status)) return response;
      failure = await errorFrom(connection, request, response);
    } catch (error) {
      if (!(error instanceof OciError)) throw error;
      failure = error;
    }
    if (!idempotent || !failure.retryable || tries >= connection.retries) throw failure;
    await pause(connection.backoffMs * 2 ** tries);
  }
}
