/**
 * The JSON the admin API returns, shared by the server and `admin-client.ts`. Types only: the
 * server builds these objects, the client reads them.
 */
import type { LiveStatistics, ReferenceProfile } from '../domain/reference-profile.ts';

/** Lifecycle of a loaded version: warmed before it gets traffic, drained before it is released. */
export type VersionState = 'warming' | 'ready' | 'draining';

/** One model's routing, as `GET /admin/v1/models/{model}` returns it. */
export interface RoutingState {
  model: string;
  /** Increments on every change of this model's routing or loaded versions. */
  generation: number;
  /** The version answering all traffic the canary does not take. */
  stable: { version: string; bundleDigest: string } | null;
  /** The candidate and its share of traffic in percent (0 to 100). */
  canary: { version: string; weight: number } | null;
  /** The version that receives a copy of stable's traffic, off the request path. */
  shadow: { version: string } | null;
  /** Every version in memory, in load order. */
  loaded: { version: string; bundleDigest: string; state: VersionState }[];
}

/**
 * `DELETE /admin/v1/models/{model}`: always 200. `retired` is false when the model was not there
 * (never loaded, or already retired), so a retry after a lost answer is safe.
 */
export interface RetireModelReply {
  model: string;
  retired: boolean;
  /** Versions taken out of service by this call; each is unloaded once its in-flight requests finish. */
  draining: string[];
  /** One line for people. */
  message: string;
}

/** Latency histogram: `buckets` are cumulative (Prometheus style); `count` includes the +Inf bucket. */
interface LatencySnapshot {
  buckets: { le: number; count: number }[];
  /** Seconds. */
  sum: number;
  count: number;
}

// A type, not an interface, so that it fits the judge's `Record<string, number>`.
/** The model's own failures: it failed to run (`inference`) or answered NaN or ±Infinity (`non_finite`). */
type ServerErrorCounts = {
  inference: number;
  non_finite: number;
};

/**
 * Requests refused before the model answered, by reason; all the client's doing, none an error
 * of the version: malformed (`bad_request`, 400), body over the limit (`too_large`, 413), body
 * not sent in time (`timeout`, 408), client gone before its body was complete (`client_closed`),
 * answer over the response limit (`response_too_large`, 413).
 */
type RefusedCounts = {
  bad_request: number;
  too_large: number;
  timeout: number;
  client_closed: number;
  response_too_large: number;
};

/**
 * Cumulative counters of one (model, version) since the server started; readers take differences.
 * The top-level counters are the routed traffic the canary judge reads; pinned requests and
 * refusals are counted apart, so that no client can poison the judge.
 */
export interface VersionMetricsSnapshot {
  /**
   * ISO 8601 time these counters started (the version's first load in this process): with
   * `takenAt`, the period the counts cover, so a reader can tell a rate from a single snapshot.
   */
  countingSince: string;
  /** Routed infer requests that reached this version's model, failed ones included. */
  requests: number;
  /** Routed requests the model failed (a subset of `requests`). */
  errors: ServerErrorCounts;
  /**
   * Server time of routed requests that reached the model, from the complete request body to the
   * response handed to the socket: a client that uploads or reads slowly does not add to it.
   */
  latency: LatencySnapshot;
  /** Predicted class (from the prediction output) → rows predicted, for routed requests. */
  predictions: Record<string, number>;
  /** This version as a shadow: rows compared with stable, rows that agreed, requests dropped or failed. */
  shadow: { compared: number; agreed: number; dropped: number; errors: number };
  /** Routed requests refused before the model answered them, by reason. */
  refused: RefusedCounts;
  /** Requests pinned to this version (`x-modelship-version` or a `/versions/{v}` URL): never judged. */
  pinned: { requests: number; errors: ServerErrorCounts; refused: RefusedCounts };
}

/** `GET /admin/v1/metrics`. */
export interface MetricsSnapshot {
  /** ISO 8601 time the snapshot was taken. */
  takenAt: string;
  models: Record<string, Record<string, VersionMetricsSnapshot>>;
}

/**
 * `GET /admin/v1/models/{model}/statistics`: what this process counted for each loaded version
 * (`domain/reference-profile.ts`); sum replicas with `sumLiveStatistics`.
 */
export interface StatisticsReply {
  model: string;
  versions: LiveStatistics[];
}

/** `GET /admin/v1/models/{model}/versions/{version}/profile`: null for a bundle without one. */
export interface ProfileReply {
  model: string;
  version: string;
  profile: ReferenceProfile | null;
}
