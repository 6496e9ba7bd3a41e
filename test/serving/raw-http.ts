/**
 * HTTP over a bare TCP socket, for what `fetch` will not send: malformed request lines, oversized
 * heads, bodies that stop half way. The server's answer is read until it closes the connection.
 */
import { connect } from 'node:net';

/** What came back on the socket. */
export interface RawReply {
  status: number;
  head: string;
  /** The body, parsed as JSON when it is JSON. */
  body: unknown;
  /** Milliseconds from the first byte sent to the connection closing. */
  ms: number;
}

/**
 * Sends `request` (as is) to the server at `url`, and resolves with the answer once the server
 * closes the connection; fails after `timeoutMs`, so a server that holds the connection fails the
 * test instead of hanging it.
 */
export function rawRequest(url: string, request: string | Buffer, timeoutMs = 5_000): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const rest = split === -1 ? '' : text.slice(split + 4);
      let body: unknown = rest;
      try {
        body = JSON.parse(rest);
      } catch {
        // not JSON: kept as text
      }
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        body,
        ms: performance.now() - started,
      });
    });
    socket.write(request);
  });
}
