/**
 * The serving data plane as one `node:http` server: KServe V2 inference under `/v2`, the admin
 * API under `/admin/v1`, Prometheus metrics at `/metrics`. Start it with `startServingServer`;
 * `modelship serve` is the command-line front end.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin-api.ts';
import { bearerAuthorizer } from './auth.ts';
import { HttpError, sendError } from './http.ts';
import { handleInference, type InferenceContext } from './inference-api.ts';
import { MetricsRegistry } from './metrics.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.ts';
import { ModelRegistry } from './registry.ts';
import { ShadowQueue } from './shadow.ts';

/** How to run the server; every field has a default except the admin token decision. */
export interface ServingServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 (the default) picks any free port. */
  port?: number;
  /** Bearer token the admin API requires. Without it, `insecureAdmin` must be set. */
  adminToken?: string;
  /** Run the admin API without a token (local use only); ignored when `adminToken` is given. */
  insecureAdmin?: boolean;
  /** Largest request body accepted, in bytes (default 1 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
  /** Shadow copies waiting to run before new ones are dropped (default 1000). */
  shadowQueueSize?: number;
  /** Record and expose per-version metrics (default true). */
  metrics?: boolean;
  /** Receives one line per admin change and load (default: discarded). Never called per request. */
  log?: (line: string) => void;
  /** How long `close()` lets in-flight requests finish before cutting connections (default 10 s). */
  drainTimeoutMs?: number;
}

/** A running server. */
export interface ServingServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish, then releases every model. */
  close(): Promise<void>;
}

/** Options that make no sense; thrown before anything listens. */
export class ServingConfigError extends Error {
  override readonly name = 'ServingConfigError';
}

function checkOptions(options: ServingServerOptions) {
  const { adminToken, port = 0, maxBodyBytes = 1024 * 1024, shadowQueueSize = 1000 } = options;
  if (adminToken === undefined && options.insecureAdmin !== true) {
    throw new ServingConfigError(
      'refusing to start: the admin API needs a bearer token (adminToken; `modelship serve --admin-token-file FILE` or $MODELSHIP_ADMIN_TOKEN), or an explicit insecureAdmin (`--insecure-admin`) for local use without one',
    );
  }
  if (adminToken !== undefined && !/^\S+$/.test(adminToken)) {
    throw new ServingConfigError('the admin token must be non-empty and contain no whitespace');
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ServingConfigError(`port must be an integer from 0 to 65535, got ${port}`);
  }
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new ServingConfigError(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  if (!Number.isInteger(shadowQueueSize) || shadowQueueSize < 0) {
    throw new ServingConfigError(`shadowQueueSize must be a non-negative integer, got ${shadowQueueSize}`);
  }
  return { port, maxBodyBytes, shadowQueueSize };
}

/** Starts the server; resolves once it listens. Throws ServingConfigError for unusable options. */
export async function startServingServer(options: ServingServerOptions = {}): Promise<ServingServer> {
  const { port, maxBodyBytes, shadowQueueSize } = checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const metricsOn = options.metrics ?? true;
  const metrics = new MetricsRegistry();
  const registry = new ModelRegistry(metrics, log);
  const shadow = new ShadowQueue(shadowQueueSize);
  const inference: InferenceContext = { registry, shadow, maxBodyBytes, metrics: metricsOn };
  const admin = {
    registry,
    metrics: metricsOn ? metrics : undefined,
    maxBodyBytes,
    authorize: bearerAuthorizer(options.adminToken),
    log,
  };

  const fail = (res: ServerResponse, error: unknown) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) return sendError(res, error.status, error.message, error.headers);
    log(`unexpected error: ${(error as Error).stack ?? error}`);
    sendError(res, 500, `internal error: ${(error as Error).message}`);
  };

  const metricsText = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET')
      throw new HttpError(405, 'method not allowed; use GET', undefined, { allow: 'GET' });
    if (!metricsOn) throw new HttpError(404, 'metrics are disabled on this server');
    const text = renderPrometheus([...metrics.all()]);
    res.writeHead(200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  let closing: Promise<void> | undefined;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // A request that arrives on a kept-alive connection after close() began is still answered,
    // but told not to reuse the connection, so the connection ends with that response.
    if (closing !== undefined) res.setHeader('connection', 'close');
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    try {
      let pending: Promise<void> | undefined;
      if (path.startsWith('/v2')) pending = handleInference(inference, req, res, path);
      else if (path.startsWith('/admin/v1/')) pending = handleAdmin(admin, req, res, path);
      else if (path === '/metrics') metricsText(req, res);
      else {
        throw new HttpError(
          404,
          `no such endpoint: ${path} (try /v2/models/{name}/infer, /admin/v1/models, /metrics)`,
        );
      }
      pending?.catch((error: unknown) => fail(res, error));
    } catch (error) {
      fail(res, error);
    }
  };

  const server = createServer({ keepAlive: true }, handle);
  // Longer than the usual 60 s idle timeout of load balancers and clients, so the client side
  // closes idle connections first and never sends on a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // A version stays held while its request body arrives: a stalled upload must not hold it forever.
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection becomes idle when its last request is answered; close it then
      // rather than waiting for the client to give it up.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      const cut = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs ?? 10_000);
      cut.unref();
      await closed;
      clearInterval(sweep);
      clearTimeout(cut);
      await shadow.close();
      await registry.close();
    })();
    return closing;
  };

  return { url: `http://${urlHost}:${bound}`, port: bound, close };
}
