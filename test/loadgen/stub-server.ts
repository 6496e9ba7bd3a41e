/**
 * A tiny KServe V2 server for load generator tests: real HTTP on loopback, with each answer
 * (status, version header, predicted class, delay, chunked or not) decided by the test, and a
 * record of what arrived (count, most requests in flight at once, headers).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VERSION_HEADER } from '../../serving/headers.ts';

/** How to answer request number `n` (0-based, in arrival order). */
export interface StubAnswer {
  status?: number;
  version?: string;
  /** The class put in the `label` output. */
  prediction?: number;
  delayMs?: number;
  /** Send the body with chunked transfer encoding instead of a content-length. */
  chunked?: boolean;
  /** Never answer (the client must time out). */
  hang?: boolean;
}

export interface StubRequest {
  n: number;
  headers: IncomingHttpHeaders;
  /** The first input's data, as sent. */
  data: number[];
}

export interface StubServer {
  url: string;
  seen: { requests: number; maxInFlight: number; log: StubRequest[] };
  close(): Promise<void>;
}

export async function startStubServer(answer: (request: StubRequest) => StubAnswer): Promise<StubServer> {
  const seen = { requests: 0, maxInFlight: 0, log: [] as StubRequest[] };
  let inFlight = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = seen.requests;
      seen.requests += 1;
      inFlight += 1;
      seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: [{ data: number[] }] };
      const request = { n, headers: req.headers, data: parsed.inputs[0].data };
      seen.log.push(request);
      const reply = answer(request);
      if (reply.hang) return;
      const status = reply.status ?? 200;
      const body =
        status === 200
          ? JSON.stringify({
              model_name: 'stub',
              model_version: reply.version,
              outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [reply.prediction ?? 0] }],
            })
          : JSON.stringify({ error: `stub says ${status}` });
      const send = () => {
        inFlight -= 1;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (reply.version !== undefined) headers[VERSION_HEADER] = reply.version;
        if (reply.chunked) {
          res.writeHead(status, headers);
          res.write(body.slice(0, 10));
          res.end(body.slice(10));
        } else {
          res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
          res.end(body);
        }
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
