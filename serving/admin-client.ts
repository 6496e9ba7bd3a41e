/**
 * A typed client for the admin API, for the control plane (the rollout activities) and the CLI.
 * It talks HTTP with the global `fetch`, never calls server code in-process; any non-2xx answer
 * becomes an `AdminApiError` carrying the status and the server's own message.
 */

import { type PerformanceReport, PerformanceReportSchema } from '../domain/label-statistics.ts';
import type { ReferenceProfile } from '../domain/reference-profile.ts';
import type { CanaryBody, LoadVersionBody, PromoteBody, RollbackBody, ShadowBody } from './admin-schemas.ts';
import type {
  MetricsSnapshot,
  ProfileReply,
  RetireModelReply,
  RoutingState,
  StatisticsReply,
} from './api-types.ts';

// The answers' types, so callers need only this module.
export type {
  MetricsSnapshot,
  RetireModelReply,
  RoutingState,
  StatisticsReply,
  VersionMetricsSnapshot,
} from './api-types.ts';

/** Where the admin API is and how to authenticate. */
interface AdminClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** The admin bearer token; undefined only against a server in insecure admin mode. */
  token: string | undefined;
  /** Per-call timeout (default 30 s: loading a large model includes its warm-up). */
  timeoutMs?: number;
}

/** A non-2xx answer (or no answer) from the admin API. */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    /** HTTP status; 0 when no response arrived (connection refused, timeout). */
    readonly status: number,
    /** The server's `error` message, or a description of the transport failure. */
    readonly serverMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status === 0 ? '' : `${status} `}${serverMessage}`);
  }
}

/** Names the model a call is about. */
interface ModelInput {
  model: string;
}
/** `loadVersion`: a bundle directory to load as `version`. */
type LoadVersionInput = ModelInput & LoadVersionBody;
/** Names a version of a model. */
type VersionInput = ModelInput & { version: string };
/** `unloadVersion`: the version to drain and release. */
type UnloadVersionInput = VersionInput;
/** `setCanary`: the candidate and its percentage of traffic. */
type SetCanaryInput = ModelInput & CanaryBody;
/** `setShadow`: the version that gets a copy of stable's traffic. */
type SetShadowInput = ModelInput & ShadowBody;
/** `promote`: the version to make stable. */
type PromoteInput = ModelInput & PromoteBody;
/** `rollback`: an explicit target (else see `transitions.ts`) and a reason for the log. */
type RollbackInput = ModelInput & RollbackBody;

/** The admin API, one method per call. */
export interface AdminClient {
  /** Loads and warms a bundle as a version; the first version of a model becomes stable. */
  loadVersion(input: LoadVersionInput): Promise<RoutingState>;
  /** Drains and unloads a version no traffic is routed to. */
  unloadVersion(input: UnloadVersionInput): Promise<RoutingState>;
  setCanary(input: SetCanaryInput): Promise<RoutingState>;
  clearCanary(input: ModelInput): Promise<RoutingState>;
  setShadow(input: SetShadowInput): Promise<RoutingState>;
  clearShadow(input: ModelInput): Promise<RoutingState>;
  promote(input: PromoteInput): Promise<RoutingState>;
  rollback(input: RollbackInput): Promise<RoutingState>;
  /**
   * Retires the whole model: traffic stops at once (infer answers 404), every version drains and
   * is unloaded. Idempotent: an unknown or already retired model answers `retired: false`.
   */
  retireModel(input: ModelInput): Promise<RetireModelReply>;
  /** One model's routing state. */
  state(input: ModelInput): Promise<RoutingState>;
  /** Every model's routing state. */
  models(): Promise<RoutingState[]>;
  metrics(): Promise<MetricsSnapshot>;
  /**
   * What this data plane counted for each loaded version of the model: inputs per bin of the
   * reference profile, predicted classes, data-quality violations (404 with monitoring off).
   */
  statistics(input: ModelInput): Promise<StatisticsReply>;
  /** The reference profile a loaded version was packaged with; undefined for a bundle without one. */
  referenceProfile(input: VersionInput): Promise<ReferenceProfile | undefined>;
  /** Live performance per version: labels fed back, and the estimate without labels (checked by zod). */
  performance(input: ModelInput): Promise<PerformanceReport>;
}

/** Creates a client for the admin API at `baseUrl`. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as Error).cause as Error | undefined;
      throw new AdminApiError(
        0,
        `${(error as Error).message}${cause ? ` (${cause.message})` : ''}`,
        method,
        path,
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const message = (json as { error?: unknown } | undefined)?.error;
      throw new AdminApiError(response.status, typeof message === 'string' ? message : text, method, path);
    }
    return json as T;
  }

  const model = (name: string) => `/admin/v1/models/${encodeURIComponent(name)}`;
  return {
    loadVersion: ({ model: name, ...body }) => call('POST', `${model(name)}/versions`, body),
    unloadVersion: ({ model: name, version }) =>
      call('DELETE', `${model(name)}/versions/${encodeURIComponent(version)}`),
    setCanary: ({ model: name, ...body }) => call('PUT', `${model(name)}/canary`, body),
    clearCanary: ({ model: name }) => call('DELETE', `${model(name)}/canary`),
    setShadow: ({ model: name, ...body }) => call('PUT', `${model(name)}/shadow`, body),
    clearShadow: ({ model: name }) => call('DELETE', `${model(name)}/shadow`),
    promote: ({ model: name, ...body }) => call('POST', `${model(name)}/promote`, body),
    rollback: ({ model: name, ...body }) => call('POST', `${model(name)}/rollback`, body),
    retireModel: ({ model: name }) => call('DELETE', model(name)),
    state: ({ model: name }) => call('GET', model(name)),
    models: async () => (await call<{ models: RoutingState[] }>('GET', '/admin/v1/models')).models,
    metrics: () => call('GET', '/admin/v1/metrics'),
    statistics: ({ model: name }) => call('GET', `${model(name)}/statistics`),
    referenceProfile: async ({ model: name, version }) =>
      (await call<ProfileReply>('GET', `${model(name)}/versions/${encodeURIComponent(version)}/profile`))
        .profile ?? undefined,
    performance: async ({ model: name }) =>
      PerformanceReportSchema.parse(await call('GET', `${model(name)}/performance`)),
  };
}
