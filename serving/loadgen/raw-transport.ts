/**
 * HTTP/1.1 over plain keep-alive sockets, one request at a time per socket (no pipelining, as a
 * real client would do), with just enough response parsing for an inference answer: status,
 * `content-length` or chunked body, `connection: close`, and the version header. It exists so
 * that a benchmark's client spends less CPU per request than the servers it measures.
 */
import net from 'node:net';
import { VERSION_HEADER } from '../headers.ts';
import {
  type InferReply,
  inferUrl,
  type RequestHeaders,
  type Transport,
  TransportError,
  type TransportOptions,
  toTransportError,
} from './transport.ts';

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

interface Pending {
  resolve(reply: InferReply): void;
  reject(error: TransportError): void;
  deadline: number;
}

/** A parsed response head; `length` is -1 for chunked and -2 for read-until-close. */
interface Head {
  status: number;
  version: string | undefined;
  length: number;
  close: boolean;
}

function parseHead(text: string): Head {
  const status = Number(text.slice(9, 12));
  if (!text.startsWith('HTTP/1.') || !Number.isInteger(status)) {
    throw new TransportError('protocol', `not an HTTP/1.x response: ${JSON.stringify(text.slice(0, 40))}`);
  }
  const head: Head = { status, version: undefined, length: -2, close: text.startsWith('HTTP/1.0') };
  for (const line of text.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') head.length = Number(value);
    else if (name === 'transfer-encoding' && value.toLowerCase().includes('chunked')) head.length = -1;
    else if (name === 'connection') head.close = value.toLowerCase() === 'close';
    else if (name === VERSION_HEADER) head.version = value;
  }
  return head;
}

/** Decodes a complete chunked body, or returns undefined when more bytes are needed. */
function dechunk(buffer: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, at);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(buffer.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) throw new TransportError('protocol', 'malformed chunk size');
    if (size === 0) {
      // Trailers are not used by inference servers; the last chunk ends with an empty line.
      const end = buffer.indexOf(HEAD_END, lineEnd);
      if (end === lineEnd) return { body: Buffer.concat(parts), end: lineEnd + 4 };
      if (buffer.length < lineEnd + 4) return undefined;
      return end === -1 ? undefined : { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buffer.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private head: Head | undefined;
  private bodyStart = 0;
  pending: Pending | undefined;
  closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly onIdle: (connection: Connection) => void,
    private readonly onGone: (connection: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (error) => this.fail(toTransportError(error)));
    socket.on('close', () => {
      if (this.head?.length === -2) this.finish(this.buffer.subarray(this.bodyStart), this.buffer.length);
      this.fail(new TransportError('connection', 'the server closed the connection'));
    });
  }

  send(request: Buffer, pending: Pending): void {
    this.pending = pending;
    this.socket.write(request);
  }

  fail(error: TransportError): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
      this.onGone(this);
    }
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  private onData(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    try {
      if (!this.head) {
        const end = this.buffer.indexOf(HEAD_END);
        if (end === -1) return;
        this.head = parseHead(this.buffer.toString('latin1', 0, end));
        this.bodyStart = end + 4;
      }
      const { length } = this.head;
      if (length >= 0) {
        if (this.buffer.length >= this.bodyStart + length) {
          this.finish(this.buffer.subarray(this.bodyStart, this.bodyStart + length), this.bodyStart + length);
        }
      } else if (length === -1) {
        const decoded = dechunk(this.buffer, this.bodyStart);
        if (decoded) this.finish(decoded.body, decoded.end);
      }
    } catch (error) {
      this.fail(toTransportError(error));
    }
  }

  private finish(body: Buffer, consumed: number): void {
    const head = this.head;
    const pending = this.pending;
    if (!head || !pending) return;
    this.head = undefined;
    this.pending = undefined;
    this.buffer = this.buffer.subarray(consumed);
    pending.resolve({ status: head.status, version: head.version, body });
    if (head.close) this.fail(new TransportError('connection', 'closed after response'));
    else this.onIdle(this);
  }
}

/** The raw-socket transport; see the file comment for when it is the right one. */
export function createRawTransport(options: TransportOptions): Transport {
  const url = inferUrl(options.url, options.model);
  const port = Number(url.port || 80);
  const prefix = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n`;
  const idle: Connection[] = [];
  const open = new Set<Connection>();
  const waiting: Array<() => void> = [];
  // Requests without extra headers reuse their encoded bytes: the holdout has few rows.
  const encoded = new WeakMap<Buffer, Buffer>();
  let closed = false;

  const encode = (body: Buffer, headers: RequestHeaders | undefined): Buffer => {
    if (!headers) {
      const cached = encoded.get(body);
      if (cached) return cached;
    }
    let head = `${prefix}content-length: ${body.length}\r\n`;
    for (const [name, value] of Object.entries(headers ?? {})) head += `${name}: ${value}\r\n`;
    const bytes = Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
    if (!headers) encoded.set(body, bytes);
    return bytes;
  };

  const release = (connection: Connection) => {
    idle.push(connection);
    waiting.shift()?.();
  };
  const forget = (connection: Connection) => {
    open.delete(connection);
    const at = idle.indexOf(connection);
    if (at !== -1) idle.splice(at, 1);
    waiting.shift()?.();
  };

  const acquire = async (): Promise<Connection> => {
    for (;;) {
      if (closed) throw new TransportError('connection', 'transport closed');
      const reused = idle.pop();
      if (reused) return reused;
      if (open.size < options.maxConnections) {
        const connection = new Connection(net.connect(port, url.hostname), release, forget);
        open.add(connection);
        return connection;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };

  // One sweep for all deadlines instead of a timer per request.
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const connection of open) {
        if (connection.pending && connection.pending.deadline < now) {
          connection.fail(new TransportError('timeout', `no answer within ${options.timeoutMs} ms`));
        }
      }
    },
    Math.min(100, Math.max(10, options.timeoutMs / 10)),
  );
  sweep.unref();

  return {
    async send(body, headers) {
      const request = encode(body, headers);
      const connection = await acquire();
      return new Promise<InferReply>((resolve, reject) => {
        connection.send(request, { resolve, reject, deadline: performance.now() + options.timeoutMs });
      });
    },
    close() {
      closed = true;
      clearInterval(sweep);
      for (const connection of [...open])
        connection.fail(new TransportError('connection', 'transport closed'));
      for (const wake of waiting.splice(0)) wake();
    },
  };
}
