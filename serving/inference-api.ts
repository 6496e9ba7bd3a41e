/**
 * The Open Inference Protocol (KServe V2) REST routes: health, model metadata and readiness, and
 * infer, each also under `/versions/{version}`.
 *
 * The infer path is the hot path. It reads the model's snapshot once, picks the version (pinned by
 * the URL or `x-modelship-version`, otherwise routed) and takes a hold on it in the same tick, so
 * a concurrent swap can neither hand it half a change nor release its session under it. Every
 * infer response, errors included, names the version that answered in `x-modelship-version`.
 *
 * Each request is recorded once, when it ends, as routed or pinned and by outcome (`metrics.ts`):
 * only routed requests that reached the model feed the judge, so a client's mistakes, and the
 * versions a client picks for itself, cannot count against a version. Between parsing and the
 * model, the inputs are checked against the spec's constraints and, for routed requests, counted
 * into the version's live statistics (`live-statistics.ts`): one walk over the input tensor.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PredictionFeedback } from './feedback.ts';
import { handleFeedback } from './feedback-api.ts';
import { PREDICTION_ID_HEADER, ROUTE_KEY_HEADER, VERSION_HEADER } from './headers.ts';
import { decodePathPart, HttpError, readBody, sendError, sendJson } from './http.ts';
import { parseInferRequest } from './infer-request.ts';
import { encodeInferResponse, nonFiniteOutput } from './infer-response.ts';
import type { Breach } from './input-quality.ts';
import type { ServingLimits } from './limits.ts';
import type { RequestOutcome, ServerErrorKind } from './metrics.ts';
import type { ModelEntry, ModelRegistry } from './registry.ts';
import { pickVersion } from './routing.ts';
import type { ShadowQueue } from './shadow.ts';

/** What the inference routes need from the server. */
export interface InferenceContext {
  registry: ModelRegistry;
  shadow: ShadowQueue;
  limits: ServingLimits;
  /** Record per-request metrics (counters, latency, predictions). */
  metrics: boolean;
  /** Count live statistics and data-quality violations (`live-statistics.ts`); constraints are checked either way. */
  monitoring: boolean;
  /** Prediction ids, the estimate without labels, and the feedback route (`feedback.ts`). */
  feedback?: PredictionFeedback | undefined;
}

const singleHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** A client-chosen name for a message: bounded, since a header may be kilobytes long. */
const quoted = (name: string) => JSON.stringify(name.length > 64 ? `${name.slice(0, 61)}...` : name);

function requireMethod(req: IncomingMessage, allowed: 'GET' | 'POST'): void {
  if (req.method !== allowed) {
    throw new HttpError(405, `method ${req.method} not allowed here; use ${allowed}`, undefined, {
      allow: allowed,
    });
  }
}

/** The version a request goes to: the one it pins, or the router's pick. */
function chooseVersion(entry: ModelEntry, pinned: string | undefined, routeKey: string | undefined) {
  const snapshot = entry.snapshot;
  if (pinned !== undefined) {
    const loaded = snapshot.versions.get(pinned);
    if (!loaded) {
      const names = [...snapshot.versions.keys()].join(', ') || 'none';
      throw new HttpError(
        404,
        `model "${entry.name}" has no version ${quoted(pinned)} loaded (loaded: ${names})`,
      );
    }
    if (loaded.state !== 'ready') {
      throw new HttpError(503, `version "${pinned}" of model "${entry.name}" is not ready (${loaded.state})`);
    }
    return { snapshot, version: loaded.version };
  }
  const version = pickVersion(snapshot, entry.roller, routeKey);
  if (version === null) throw new HttpError(503, `model "${entry.name}" has no ready version yet`);
  return { snapshot, version };
}

/**
 * A model failure: the version's error (500), unless the request broke the spec's constraints
 * (served under `onViolation: count`). Then the input the spec rules out caused it, a NaN for a
 * missing value say, so it is the client's 400, and a client cannot make a version look bad by
 * sending data the spec says is wrong.
 */
function modelFailure(breach: Breach | undefined, message: string, kind: ServerErrorKind): HttpError {
  if (breach === undefined) return new HttpError(500, message, kind);
  return new HttpError(
    400,
    `${message}, on input that breaks the spec's constraints: ${breach.message}`,
    'bad_request',
    {},
    { violation: breach.violation },
  );
}

async function infer(
  ctx: InferenceContext,
  req: IncomingMessage,
  res: ServerResponse,
  entry: ModelEntry,
  urlVersion: string | undefined,
): Promise<void> {
  const pinned = urlVersion ?? singleHeader(req.headers[VERSION_HEADER]);
  const { snapshot, version } = chooseVersion(entry, pinned, singleHeader(req.headers[ROUTE_KEY_HEADER]));
  // Cannot fail for a version taken from the current snapshot; guarded all the same.
  if (!version.acquire()) throw new HttpError(503, `version "${version.name}" is being unloaded; retry`);

  let outcome: RequestOutcome = 'ok';
  // Timed from the complete body: how fast a client uploads is not the version's latency.
  let started = 0;
  try {
    const text = await readBody(req, ctx.limits);
    started = performance.now();
    const request = parseInferRequest(text, version, ctx.limits);
    const counting = ctx.monitoring && pinned === undefined;
    const breach = version.statistics.observe(request.feeds, counting, ctx.monitoring);
    if (breach?.reject) {
      throw new HttpError(400, breach.message, 'bad_request', {}, { violation: breach.violation });
    }
    const fetches = ctx.feedback?.fetches(version, request.fetches, pinned !== undefined) ?? request.fetches;
    const results = await version.session.run(request.feeds, fetches).catch((error: unknown) => {
      throw modelFailure(
        breach,
        `model "${entry.name}" version "${version.name}" failed to run: ${(error as Error).message}`,
        'inference',
      );
    });
    const nonFinite = nonFiniteOutput(results, request.fetches);
    if (nonFinite !== undefined) {
      throw modelFailure(
        breach,
        `model "${entry.name}" version "${version.name}" produced NaN or Infinity in output "${nonFinite}"`,
        'non_finite',
      );
    }
    const predictionId = pinned === undefined ? ctx.feedback?.predicted(version, results) : undefined;
    const { json, bytes } = encodeInferResponse(
      version,
      request.id,
      request.outputs,
      results,
      ctx.limits.maxResponseBytes,
      predictionId,
    );
    res.writeHead(200, [
      'content-type',
      'application/json',
      'content-length',
      String(bytes),
      VERSION_HEADER,
      version.name,
      ...(predictionId === undefined ? [] : [PREDICTION_ID_HEADER, predictionId]),
    ]);
    res.end(json);
    const classes = results[version.classOutput]?.data;
    if (classes !== undefined && pinned === undefined) {
      if (ctx.metrics) version.metrics.countPredictions(classes as ArrayLike<number | bigint | string>);
      // Only traffic routed to stable is mirrored: the shadow is judged against stable's answers.
      if (snapshot.shadow !== null && version === snapshot.stable) {
        ctx.shadow.offer(snapshot.shadow, request.feeds, classes as ArrayLike<unknown>);
      }
    }
  } catch (caught) {
    const error =
      caught instanceof HttpError
        ? caught
        : new HttpError(500, `internal error: ${(caught as Error).message}`, 'inference');
    // Every error raised in here carries its kind; should one not, its status decides whose it is.
    outcome = error.kind ?? (error.status < 500 ? 'bad_request' : 'inference');
    if (!res.headersSent) {
      const headers = { ...error.headers, [VERSION_HEADER]: version.name };
      sendError(res, error.status, error.message, headers, error.details);
    }
  } finally {
    if (ctx.metrics)
      version.metrics.record(pinned !== undefined, outcome, (performance.now() - started) / 1000);
    version.done();
  }
}

function modelMetadata(entry: ModelEntry, versionName: string | undefined): object {
  const snapshot = entry.snapshot;
  const ready = [...snapshot.versions.values()].filter((loaded) => loaded.state === 'ready');
  if (versionName !== undefined) {
    const version = snapshot.versions.get(versionName)?.version;
    if (!version) throw new HttpError(404, `model "${entry.name}" has no version "${versionName}" loaded`);
    return { name: entry.name, versions: [versionName], ...version.metadata };
  }
  const version = snapshot.stable ?? ready[0]?.version;
  if (!version) throw new HttpError(503, `model "${entry.name}" has no ready version yet`);
  return { name: entry.name, versions: ready.map((loaded) => loaded.version.name), ...version.metadata };
}

function modelReady(entry: ModelEntry, versionName: string | undefined): object {
  const snapshot = entry.snapshot;
  if (versionName === undefined) {
    if (snapshot.stable === null) throw new HttpError(503, `model "${entry.name}" has no ready version yet`);
    return { name: entry.name, ready: true };
  }
  const loaded = snapshot.versions.get(versionName);
  if (!loaded) throw new HttpError(404, `model "${entry.name}" has no version "${versionName}" loaded`);
  if (loaded.state !== 'ready') {
    throw new HttpError(503, `version "${versionName}" of model "${entry.name}" is ${loaded.state}`);
  }
  return { name: entry.name, version: versionName, ready: true };
}

function serverReady(ctx: InferenceContext): object {
  const hold = ctx.registry.readinessHold();
  if (hold !== undefined) throw new HttpError(503, hold);
  const waiting = ctx.registry
    .entries()
    .filter((entry) => entry.snapshot.stable === null)
    .map((entry) => `"${entry.name}"`);
  if (waiting.length > 0)
    throw new HttpError(503, `models without a ready version yet: ${waiting.join(', ')}`);
  return { ready: true };
}

const decode = (part: string | undefined) => (part === undefined ? part : decodePathPart(part));
const notFound = (path: string) => new HttpError(404, `no such endpoint: ${path}`);

/**
 * Handles a request under `/v2`; `path` is the URL path without the query string. Errors are
 * thrown as HttpError for the server to answer. Returns a promise only for infer, the one route
 * that waits on anything.
 */
export function handleInference(
  ctx: InferenceContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> | undefined {
  // ['', 'v2', 'models', name, ('versions', version,)? action?]
  const parts = path.split('/');
  if (parts.length === 4 && parts[2] === 'health' && (parts[3] === 'live' || parts[3] === 'ready')) {
    requireMethod(req, 'GET');
    sendJson(res, 200, parts[3] === 'live' ? { live: true } : serverReady(ctx));
    return undefined;
  }
  if (path === '/v2' || path === '/v2/') {
    requireMethod(req, 'GET');
    sendJson(res, 200, { name: 'modelship', extensions: [] });
    return undefined;
  }
  if (parts[2] !== 'models' || parts.length < 4 || parts[3] === '') throw notFound(path);
  const name = decode(parts[3]) as string;
  let rest = 4;
  let versionName: string | undefined;
  if (parts[4] === 'versions') {
    versionName = decode(parts[5]);
    if (versionName === undefined || versionName === '') throw notFound(path);
    rest = 6;
  }
  const action = parts.length === rest ? '' : parts.length === rest + 1 ? parts[rest] : undefined;
  if (action === 'feedback' && versionName === undefined && ctx.feedback)
    return handleFeedback(ctx.feedback, ctx, req, res, name);
  if (action !== '' && action !== 'ready' && action !== 'infer') throw notFound(path);
  const entry = ctx.registry.require(name);
  if (action === 'infer') {
    requireMethod(req, 'POST');
    return infer(ctx, req, res, entry, versionName);
  }
  requireMethod(req, 'GET');
  sendJson(res, 200, action === 'ready' ? modelReady(entry, versionName) : modelMetadata(entry, versionName));
  return undefined;
}
