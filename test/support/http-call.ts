/**
 * One HTTP request from a test, over `node:http` with a keep-alive agent shared by the process.
 *
 * The tests that load the data plane (swaps, routing, the fleet's clients) send thousands of
 * requests. The platform's `fetch` costs a client about ten times the CPU of `node:http` per request
 * (serving/loadgen/transport.ts has the measurement), and those requests ran beside the servers
 * they test on the same two cores, so the clients use this instead. What the server sees is the
 * same HTTP/1.1 request either way.
 */
import http from 'node:http';

/** A response as the tests look at it: the fetch-style `Headers`, and the body as text. */
export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
}

export interface HttpCallInit {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as UTF-8 with its Content-Length. */
  body?: string;
}

/** Idle connections are reused by the next request to the same server, as fetch's pool does. */
const agent = new http.Agent({ keepAlive: true });

/** Sends one request and reads the whole answer; rejects when there is no HTTP answer. */
export function httpCall(url: string, init: HttpCallInit = {}): Promise<HttpReply> {
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  return new Promise((resolveReply, rejectReply) => {
    const request = http.request(
      url,
      {
        agent,
        method: init.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: {
          ...init.headers,
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', rejectReply);
        response.on('end', () => {
          const headers = new Headers();
          for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
            headers.append(response.rawHeaders[index] as string, response.rawHeaders[index + 1] as string);
          }
          resolveReply({
            status: response.statusCode ?? 0,
            headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('error', rejectReply);
    request.end(body);
  });
}
