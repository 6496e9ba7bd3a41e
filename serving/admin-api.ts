/**
 * The admin API under `/admin/v1`, for the control plane (the rollout activities) and operators.
 * Every call needs the bearer token, checked before anything else so an unauthenticated caller
 * learns nothing, not even which models exist. Bodies are JSON, parsed with the zod schemas of
 * `admin-schemas.ts`; answers are JSON (`RoutingState`, the metrics snapshot, a model's live
 * statistics, a version's reference profile).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import {
  CanaryBody,
  describeIssues,
  LoadVersionBody,
  ModelName,
  PromoteBody,
  RollbackBody,
  ShadowBody,
} from './admin-schemas.ts';
import type { ProfileReply, StatisticsReply } from './api-types.ts';
import type { Authorizer } from './auth.ts';
import { BundlePathError, resolveBundleDir } from './bundle-root.ts';
import { decodePathPart, HttpError, readBody, sendError, sendJson } from './http.ts';
import type { ServingLimits } from './limits.ts';
import { type PerformanceRegistry, performanceReport } from './live-performance.ts';
import type { MetricsRegistry } from './metrics.ts';
import type { ModelEntry, ModelRegistry } from './registry.ts';
import { routingState } from './registry.ts';
import { parseJsonBody } from './safe-json.ts';
import {
  clearCanary,
  clearShadow,
  promote,
  retireVersion,
  rollback,
  setCanary,
  setShadow,
} from './transitions.ts';

/** What the admin routes need from the server. */
interface AdminContext {
  registry: ModelRegistry;
  metrics: MetricsRegistry | undefined;
  /** Live statistics are counted (`GET /models/{m}/statistics` answers 404 otherwise). */
  monitoring: boolean;
  /** Labels fed back and the estimate without labels (`GET /models/{m}/performance`). */
  performance: PerformanceRegistry;
  limits: ServingLimits;
  /** Directories bundles may be loaded from; undefined: anywhere (library use only). */
  bundleRoots: readonly string[] | undefined;
  authorize: Authorizer;
  log: (line: string) => void;
  /**
   * Set when the server follows an environment's desired state (`replica.ts`): routing then
   * changes only through that record, and every admin write is refused with this reason.
   */
  writesRefused?: string | undefined;
}

async function readJson<S extends z.ZodType>(
  req: IncomingMessage,
  limits: ServingLimits,
  schema: S,
): Promise<z.output<S>> {
  const text = await readBody(req, limits);
  const value = text.trim() === '' ? {} : parseJsonBody(text, limits.maxJsonDepth);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, `invalid request body: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The bundle directory a load names, confined to the bundle roots (403 outside, 422 unusable). */
async function bundleDir(ctx: AdminContext, requested: string): Promise<string> {
  try {
    return await resolveBundleDir(ctx.bundleRoots, requested);
  } catch (error) {
    throw error instanceof BundlePathError ? new HttpError(error.status, error.message) : error;
  }
}

function requireMethod(req: IncomingMessage, allowed: readonly string[]): void {
  if (!allowed.includes(req.method ?? '')) {
    throw new HttpError(
      405,
      `method ${req.method} not allowed here; use ${allowed.join(' or ')}`,
      undefined,
      {
        allow: allowed.join(', '),
      },
    );
  }
}

/** Every loaded version's live statistics (warming and draining ones included: they are loaded). */
function statisticsOf(entry: ModelEntry): StatisticsReply {
  const versions = [...entry.snapshot.versions.values()].map(({ version }) =>
    version.statistics.snapshot(entry.name, version.name, version.metrics.predictions()),
  );
  return { model: entry.name, versions };
}

async function modelRoute(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, parts: string[]) {
  const [, modelPart, action, versionPart] = parts;
  const model = decodePathPart(modelPart ?? '');
  const { registry, limits: limit } = ctx;
  const found = () => registry.require(model);
  const reply = (status: number, body: unknown) => sendJson(res, status, body);

  if (action === undefined) {
    requireMethod(req, ['GET', 'DELETE']);
    if (req.method === 'DELETE') return reply(200, registry.retireModel(model));
    return reply(200, routingState(found().snapshot));
  }
  if (action === 'versions' && versionPart === undefined) {
    requireMethod(req, ['POST']);
    const name = ModelName.safeParse(model);
    if (!name.success) throw new HttpError(400, `model name "${model}" ${name.error.issues[0]?.message}`);
    const body = await readJson(req, limit, LoadVersionBody);
    const outcome = await registry.load(model, body.version, await bundleDir(ctx, body.bundlePath));
    return reply(outcome.status, outcome.state);
  }
  if (action === 'versions' && versionPart !== undefined && parts.length === 5 && parts[4] === 'profile') {
    requireMethod(req, ['GET']);
    const version = decodePathPart(versionPart);
    const loaded = found().snapshot.versions.get(version);
    if (!loaded) throw new HttpError(404, `model "${model}" has no version "${version}" loaded`);
    const answer: ProfileReply = { model, version, profile: loaded.version.bundle.profile ?? null };
    return reply(200, answer);
  }
  if (action === 'statistics' && parts.length === 3) {
    requireMethod(req, ['GET']);
    if (!ctx.monitoring) throw new HttpError(404, 'monitoring is disabled on this server');
    return reply(200, statisticsOf(found()));
  }
  if (action === 'versions' && versionPart !== undefined && parts.length === 4) {
    requireMethod(req, ['DELETE']);
    const version = decodePathPart(versionPart);
    const entry = found();
    return reply(200, registry.apply(entry, retireVersion(entry.snapshot, version), `unload "${version}"`));
  }
  if (parts.length !== 3) throw new HttpError(404, `no such admin endpoint: /admin/v1/${parts.join('/')}`);
  switch (action) {
    case 'canary': {
      requireMethod(req, ['PUT', 'DELETE']);
      if (req.method === 'DELETE')
        return reply(200, registry.apply(found(), clearCanary(found().snapshot), 'canary cleared'));
      const body = await readJson(req, limit, CanaryBody);
      const entry = found();
      const change = setCanary(entry.snapshot, body.version, body.weight);
      return reply(200, registry.apply(entry, change, `canary "${body.version}" at ${body.weight} %`));
    }
    case 'shadow': {
      requireMethod(req, ['PUT', 'DELETE']);
      if (req.method === 'DELETE')
        return reply(200, registry.apply(found(), clearShadow(found().snapshot), 'shadow cleared'));
      const body = await readJson(req, limit, ShadowBody);
      const entry = found();
      return reply(
        200,
        registry.apply(entry, setShadow(entry.snapshot, body.version), `shadow "${body.version}"`),
      );
    }
    case 'promote': {
      requireMethod(req, ['POST']);
      const body = await readJson(req, limit, PromoteBody);
      const entry = found();
      return reply(
        200,
        registry.apply(entry, promote(entry.snapshot, body.version), `promoted "${body.version}"`),
      );
    }
    case 'rollback': {
      requireMethod(req, ['POST']);
      const body = await readJson(req, limit, RollbackBody);
      const entry = found();
      const change = rollback(entry.snapshot, body.toVersion);
      const target = change.ok ? change.snapshot.stable?.name : undefined;
      const reason = body.reason === undefined ? '' : `: ${body.reason}`;
      return reply(200, registry.apply(entry, change, `rolled back to "${target}"${reason}`));
    }
    case 'performance':
      requireMethod(req, ['GET']);
      return reply(200, performanceReport(ctx.performance, registry, model));
    default:
      throw new HttpError(404, `no such admin endpoint: /admin/v1/${parts.join('/')}`);
  }
}

/** Handles a request under `/admin/v1`; `path` is the URL path without the query string. */
export async function handleAdmin(
  ctx: AdminContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  try {
    if (!ctx.authorize(req.headers.authorization)) {
      throw new HttpError(
        401,
        req.headers.authorization === undefined
          ? 'the admin API needs "Authorization: Bearer <token>"'
          : 'the admin token is not valid',
        undefined,
        { 'www-authenticate': 'Bearer realm="modelship-admin"' },
      );
    }
    // ['', 'admin', 'v1', ...rest], trailing slash ignored
    const parts = path.split('/').slice(3);
    if (parts.at(-1) === '') parts.pop();
    if (parts[0] === 'metrics' && parts.length === 1) {
      requireMethod(req, ['GET']);
      if (!ctx.metrics) throw new HttpError(404, 'metrics are disabled on this server');
      return sendJson(res, 200, ctx.metrics.snapshot());
    }
    if (parts[0] === 'models' && parts.length === 1) {
      requireMethod(req, ['GET']);
      return sendJson(res, 200, {
        models: ctx.registry.entries().map((entry) => routingState(entry.snapshot)),
      });
    }
    if (parts[0] === 'models' && parts.length >= 2) {
      if (ctx.writesRefused !== undefined && req.method !== 'GET')
        throw new HttpError(409, ctx.writesRefused);
      return await modelRoute(ctx, req, res, parts);
    }
    throw new HttpError(404, `no such admin endpoint: ${path}`);
  } catch (error) {
    if (!(error instanceof HttpError)) {
      ctx.log(`admin ${req.method} ${path} failed: ${(error as Error).stack ?? error}`);
      return sendError(res, 500, `internal error: ${(error as Error).message}`);
    }
    sendError(res, error.status, error.message, error.headers);
  }
}
