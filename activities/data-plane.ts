/**
 * The control plane's hands on the serving data plane: every routing change a rollout makes goes
 * through these activities, over HTTP to the admin API (`serving/admin-client.ts`), never by
 * calling serving code in-process.
 *
 * Every call is idempotent on the server (loading the same version and bundle twice, setting the
 * same weight twice, promoting the stable version), so a retry after a lost response is safe.
 * A 4xx answer means the request itself is wrong and becomes a non-retryable
 * `DataPlaneRejected`; no answer, a 5xx or a 401 (a token being rotated) is retried.
 */
import { join } from 'node:path';
import { versionForBundle } from '../domain/bundle-format.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { AdminApiError, type AdminClient, type RoutingState } from '../serving/admin-client.ts';
import type { VersionMetricsSnapshot } from '../serving/api-types.ts';
import { domainFailure, FailureType } from './failures.ts';

interface DataPlaneDeps {
  admin: AdminClient;
  /** Where packaging left the bundles (`<home>/bundles`), to load a version that was unloaded again. */
  bundlesDir: string;
}

/** What a rollout needs to know of a model's routing, without the data plane's internals. */
export interface RoutingSummary {
  stable: string | null;
  canary: { version: string; weight: number } | null;
  shadow: string | null;
  loaded: string[];
  generation: number;
  /**
   * The bundle digest of the stable version, where the data plane knows it (the admin API does;
   * a fleet names bundles by their OCI digest and finds them again by version tag).
   */
  stableBundleDigest?: string;
}

interface LoadIntoDataPlaneInput {
  deployment: DeploymentRef;
  bundle: { digest: string; path: string };
}

interface LoadIntoDataPlaneResult {
  /** The version name the data plane knows this bundle by. */
  version: string;
  /** True when this load made it stable: the model's first version on this data plane. */
  becameStable: boolean;
  routing: RoutingSummary;
}

interface SetCandidateWeightInput {
  deployment: DeploymentRef;
  version: string;
  weight: number;
}

interface CandidateInput {
  deployment: DeploymentRef;
  version: string;
}

interface RollbackCandidateInput {
  deployment: DeploymentRef;
  /** Why, for the data plane's log; the audit records it separately. */
  reason: string;
  /** The version to restore; the data plane's current stable when omitted. */
  toVersion?: string;
}

interface RestoreVersionInput {
  deployment: DeploymentRef;
  /** The version to serve to all traffic again. */
  version: string;
  /** Its bundle digest, to load it again if it was unloaded since. */
  bundleDigest?: string;
  /** Why, for the data plane's log. */
  reason: string;
}

interface ReadModelMetricsInput {
  deployment: DeploymentRef;
}

function summarize(state: RoutingState): RoutingSummary {
  return {
    stable: state.stable?.version ?? null,
    canary: state.canary,
    shadow: state.shadow?.version ?? null,
    loaded: state.loaded.map((entry) => entry.version),
    generation: state.generation,
    ...(state.stable ? { stableBundleDigest: state.stable.bundleDigest } : {}),
  };
}

/** Turns the admin API's refusals into domain failures; everything else is left to retry. */
async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof AdminApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
      throw domainFailure(
        FailureType.DataPlaneRejected,
        `data plane refused to ${what}: ${error.serverMessage}`,
        {
          status: error.status,
          method: error.method,
          path: error.path,
        },
      );
    }
    throw error;
  }
}

export function createDataPlaneActivities(deps: DataPlaneDeps) {
  const { admin, bundlesDir } = deps;
  return {
    /** Loads and warms the bundle as a version; the model's first version becomes stable. */
    async loadIntoDataPlane(input: LoadIntoDataPlaneInput): Promise<LoadIntoDataPlaneResult> {
      const model = input.deployment.model;
      const version = versionForBundle(input.bundle.digest);
      const state = await call(`load ${model} ${version}`, () =>
        admin.loadVersion({ model, version, bundlePath: input.bundle.path }),
      );
      return { version, becameStable: state.stable?.version === version, routing: summarize(state) };
    },

    /** Sends `weight` percent of live traffic to the candidate. */
    async setCandidateWeight(input: SetCandidateWeightInput): Promise<RoutingSummary> {
      const { model } = input.deployment;
      return summarize(
        await call(`set ${model} canary ${input.version} to ${input.weight}%`, () =>
          admin.setCanary({ model, version: input.version, weight: input.weight }),
        ),
      );
    },

    /** Mirrors stable's traffic to the candidate (answers compared, never returned). */
    async mirrorToCandidate(input: CandidateInput): Promise<RoutingSummary> {
      const { model } = input.deployment;
      return summarize(
        await call(`shadow ${model} to ${input.version}`, () =>
          admin.setShadow({ model, version: input.version }),
        ),
      );
    },

    /** Stops mirroring traffic. */
    async stopMirroring(input: { deployment: DeploymentRef }): Promise<RoutingSummary> {
      const { model } = input.deployment;
      return summarize(await call(`clear ${model} shadow`, () => admin.clearShadow({ model })));
    },

    /** Makes the candidate stable at 100 %; the previous stable stays loaded for a fast rollback. */
    async promoteCandidate(input: CandidateInput): Promise<RoutingSummary> {
      const { model } = input.deployment;
      return summarize(
        await call(`promote ${model} ${input.version}`, () =>
          admin.promote({ model, version: input.version }),
        ),
      );
    },

    /** Restores stable to 100 % and drops canary and shadow; safe to repeat. */
    async rollbackCandidate(input: RollbackCandidateInput): Promise<RoutingSummary> {
      const { model } = input.deployment;
      return summarize(
        await call(`roll back ${model}`, () =>
          admin.rollback({
            model,
            reason: input.reason.slice(0, 1000),
            ...(input.toVersion ? { toVersion: input.toVersion } : {}),
          }),
        ),
      );
    },

    /**
     * Serves an earlier version to all traffic again (the monitor's rollback after promotion):
     * loads it from its bundle when it was unloaded since, then makes it stable. The version it
     * replaces stays loaded until `unloadFromDataPlane`. Safe to repeat.
     */
    async restoreVersion(input: RestoreVersionInput): Promise<RoutingSummary> {
      const { model } = input.deployment;
      const { version, bundleDigest } = input;
      const state = await call(`read ${model}`, () => admin.state({ model }));
      const loaded = state.loaded.some((entry) => entry.version === version);
      if (!loaded) {
        if (!bundleDigest || versionForBundle(bundleDigest) !== version) {
          throw domainFailure(
            FailureType.DataPlaneRejected,
            `cannot restore ${model} ${version}: it is no longer loaded and its bundle digest is unknown`,
          );
        }
        await call(`load ${model} ${version}`, () =>
          admin.loadVersion({ model, version, bundlePath: join(bundlesDir, bundleDigest) }),
        );
      }
      return summarize(
        await call(`restore ${model} ${version} (${input.reason.slice(0, 200)})`, () =>
          admin.promote({ model, version }),
        ),
      );
    },

    /**
     * Drains and unloads a version no traffic goes to (an abandoned candidate, or the previous
     * stable after its post-promotion window). Already gone, or routed again, is fine: a retry or
     * a later rollout may have got there first.
     */
    async unloadFromDataPlane(input: CandidateInput): Promise<{ unloaded: boolean; reason?: string }> {
      const { model } = input.deployment;
      try {
        await admin.unloadVersion({ model, version: input.version });
        return { unloaded: true };
      } catch (error) {
        if (error instanceof AdminApiError && (error.status === 404 || error.status === 409)) {
          return { unloaded: false, reason: error.serverMessage };
        }
        throw error;
      }
    },

    /**
     * Retires the deployment's model from the data plane: traffic stops at once, every version
     * drains and is unloaded. Idempotent: a model that is not there (never loaded, or a retry
     * after the first call landed) answers `retired: false`, which is just as good.
     */
    async retireFromDataPlane(input: {
      deployment: DeploymentRef;
    }): Promise<{ retired: boolean; draining: string[]; message: string }> {
      const { model } = input.deployment;
      const reply = await call(`retire ${model}`, () => admin.retireModel({ model }));
      return { retired: reply.retired, draining: reply.draining, message: reply.message };
    },

    /** The model's cumulative per-version counters; callers take differences between reads. */
    async readModelMetrics(
      input: ReadModelMetricsInput,
    ): Promise<{ takenAt: string; versions: Record<string, VersionMetricsSnapshot> }> {
      const snapshot = await admin.metrics();
      return { takenAt: snapshot.takenAt, versions: snapshot.models[input.deployment.model] ?? {} };
    },
  };
}
