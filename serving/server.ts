/**
 * The serving data plane as one `node:http` server: KServe V2 inference under `/v2`, the admin
 * API under `/admin/v1`, Prometheus metrics at `/metrics`. Start it with `startServingServer`;
 * `modelship serve` is the command-line front end.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin-api.ts';
import { bearerAuthorizer } from './auth.ts';
import { answerClientErrors } from './client-errors.ts';
import { type FeedbackServerOptions, PredictionFeedback } from './feedback.ts';
import { HttpError, sendError } from './http.ts';
import { handleInference, type InferenceContext } from './inference-api.ts';
import { resolveLimits, ServingConfigError, type ServingLimits } from './limits.ts';
import { MetricsRegistry } from './metrics.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.ts';
import { ModelRegistry } from './registry.ts';
import { ShadowQueue } from './shadow.ts';

export { ServingConfigError } from './limits.ts';

/**
 * How to run the server; every field has a default except the admin token decision. The request
 * limits (`ServingLimits`, defaults in `limits.ts`) may be given one by one.
 */
export interface ServingServerOptions extends Partial<ServingLimits>, FeedbackServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 (the default) picks any free port. */
  port?: number;
  /** Bearer token the admin API requires. Without it, `insecureAdmin` must be set. */
  adminToken?: string;
  /** Run the admin API without a token (local use only); ignored when `adminToken` is given. */
  insecureAdmin?: boolean;
  /**
   * Directories the admin API may load bundles from; a bundle must lie inside one after symlinks
   * are resolved. Default: none set, any directory the process can read (tests, embedding);
   * `modelship serve` always sets one (`--bundle-root`, default `$MODELSHIP_HOME/bundles`).
   */
  bundleRoots?: readonly string[];
  /** Shadow copies waiting to run before new ones are dropped (default 1000). */
  shadowQueueSize?: number;
  /** Record and expose per-version metrics (default true). */
  metrics?: boolean;
  /**
   * Count each version's live statistics (inputs binned against the bundle's reference profile,
   * data-quality violations) and expose them (default true; off when `metrics` is off). The
   * spec's `onViolation: reject` is enforced either way.
   */
  monitoring?: boolean;
  /** Receives one line per admin change and load (default: discarded). Never called per request. */
  log?: (line: string) => void;
  /** How long `close()` lets in-flight requests finish before cutting connections (default 10 s). */
  drainTimeoutMs?: number;
  /**
   * The environment whose desired state this server follows (`modelship serve --environment`):
   * the admin API then refuses writes, since a replica's routing comes only from that record.
   */
  followsEnvironment?: string;
}

/** A running server. */
export interface ServingServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  /** The limits in force, defaults filled in. */
  limits: ServingLimits;
  /** The served models, for a replica converging on desired state (`replica.ts`) to drive. */
  registry: ModelRegistry;
  /** Stops accepting connections, lets in-flight requests finish, then releases every model. */
  close(): Promise<void>;
}

function checkOptions(options: ServingServerOptions) {
  const { adminToken, port = 0, shadowQueueSize = 1000 } = options;
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
  if (!Number.isInteger(shadowQueueSize) || shadowQueueSize < 0) {
    throw new ServingConfigError(`shadowQueueSize must be a non-negative integer, got ${shadowQueueSize}`);
  }
  return { port, shadowQueueSize, limits: resolveLimits(options) };
}

/** Starts the server; resolves once it listens. Throws ServingConfigError for unusable options. */
export async function startServingServer(options: ServingServerOptions = {}): Promise<ServingServer> {
  const { port, shadowQueueSize, limits } = checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const metricsOn = options.metrics ?? true;
  const monitoringOn = metricsOn && (options.monitoring ?? true);
  const metrics = new MetricsRegistry();
  const registry = new ModelRegistry(metrics, log);
  const shadow = new ShadowQueue(shadowQueueSize);
  const feedback = new PredictionFeedback(options, monitoringOn);
  const inference: InferenceContext = {
    registry,
    shadow,
    limits,
    metrics: metricsOn,
    monitoring: monitoringOn,
    feedback,
  };
  const admin = {
    registry,
    metrics: metricsOn ? metrics : undefined,
    monitoring: monitoringOn,
    performance: feedback.performance,
    limits,
    bundleRoots: options.bundleRoots,
    authorize: bearerAuthorizer(options.adminToken),
    log,
    writesRefused:
      options.followsEnvironment === undefined
        ? undefined
        : `this data plane follows the desired state of environment "${options.followsEnvironment}": its routing changes only through that record (a rollout), not the admin API`,
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
    const text = renderPrometheus([...metrics.all()], monitoringOn) + feedback.prometheus();
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

  const server = createServer(
    {
      keepAlive: true,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node checks its header and request timeouts (default 30 s, far coarser than them).
      connectionsCheckingInterval: 500,
    },
    handle,
  );
  // Longer than the usual 60 s idle timeout of load balancers and clients, so the client side
  // closes idle connections first and never sends on a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  // A head that trickles in (slowloris) is cut at headersTimeoutMs. The body has its own timer
  // (readBody, bodyTimeoutMs), which answers 408 while the request still holds its version;
  // Node's request timeout is the backstop behind both.
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs + 1_000;
  // Refusals by Node's parser get a JSON body too.
  server.on('clientError', answerClientErrors(limits));

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

  return { url: `http://${urlHost}:${bound}`, port: bound, limits, registry, close };
}
