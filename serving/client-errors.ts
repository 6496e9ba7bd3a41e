/**
 * Answers for what Node's HTTP parser refuses before any handler runs: a malformed request line
 * or header, a head over the size limit, a head or body that does not arrive in time. Node's own
 * answers to these are bare (`400 Bad Request` and no body), unlike every other error of the
 * protocol; this one says in a JSON body what was wrong, then closes the connection, since the
 * parser cannot find the start of a next request on it.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServingLimits } from './limits.ts';

/** What an error from the parser (`HPE_*`) or its timers (`ERR_HTTP_*`) carries. */
interface ClientError extends Error {
  code?: string;
  /** llhttp's description, e.g. "Invalid method encountered". */
  reason?: string;
}

/** The status and message for a parser error; the request's own bytes are never quoted. */
function describeClientError(
  error: ClientError,
  limits: Pick<ServingLimits, 'maxHeaderBytes' | 'headersTimeoutMs' | 'bodyTimeoutMs'>,
): { status: number; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: `request line and headers are larger than the limit of ${limits.maxHeaderBytes} bytes (maxHeaderBytes)`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        message: `request did not arrive in time: headers within ${limits.headersTimeoutMs} ms (headersTimeoutMs), body within ${limits.bodyTimeoutMs} ms more (bodyTimeoutMs)`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'chunk extensions of the request body are too large' };
    default: {
      const reason = typeof error.reason === 'string' ? error.reason : (error.code ?? 'unknown error');
      return { status: 400, message: `malformed HTTP request: ${reason}` };
    }
  }
}

/**
 * A `clientError` listener for the server: writes the JSON answer when nothing has been written
 * on the connection yet, and closes it. A reset connection, or one whose response has begun, is
 * only destroyed (there is no one to tell, or no clean way to).
 */
export function answerClientErrors(limits: Parameters<typeof describeClientError>[1]) {
  return (error: ClientError, socket: Duplex): void => {
    const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
      socket.destroy();
      return;
    }
    const { status, message } = describeClientError(error, limits);
    const body = JSON.stringify({ error: message });
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
    ].join('\r\n');
    socket.end(`${head}\r\n\r\n${body}`);
    // A peer that never reads must not keep the socket: give the answer a moment, then cut.
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
}
