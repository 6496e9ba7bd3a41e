/**
 * The data-plane activities for an environment served by a fleet of replicas that follow its
 * desired state (`serving/replica.ts`), chosen by configuration (`MODELSHIP_DATA_PLANE_MODE=
 * desired-state`) in place of `data-plane.ts`'s single admin API. Same activities, same inputs
 * and results, so the workflow does not know which it drives.
 *
 * Each routing change is one update of the durable record (`desired-state/routing.ts`), naming
 * versions by the OCI digest `package` pushed their bundle under; the activity then waits until
 * every live replica reports serving that generation. A replica that reports it cannot apply it
 * (a bundle that will not pull, verify or load) fails the step with its message
 * (`DataPlaneRejected`, not retried: the rollout rolls back). A replica that is alive but behind
 * fails only this attempt, naming it, and the attempt is retried: the rollout waits on it and
 * never moves past it. Updates are idempotent (the same change twice keeps the generation), so a
 * retry after a lost answer waits for the same generation.
 *
 * Metrics are the sum over the live replicas' admin APIs (`serving/metrics-sum.ts`).
 */

import { convergence } from '../desired-state/convergence.ts';
import { DesiredStateConflictError, DesiredStateError } from '../desired-state/errors.ts';
import {
  clearShadow,
  promote,
  retire,
  rollback,
  serveFirstVersion,
  setCanary,
  setShadow,
} from '../desired-state/routing.ts';
import type { DesiredStateStore, ModelsChange } from '../desired-state/store.ts';
import type { DesiredState, ModelRouting, Models, VersionRef } from '../desired-state/types.ts';
import {
  BUNDLE_ARTIFACT_TYPE,
  bundleRepository,
  versionForBundle,
  versionTag,
} from '../domain/bundle-format.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { parseImageManifest } from '../oci/descriptor.ts';
import type { BundleStores } from '../oci/environment-stores.ts';
import { OciError } from '../oci/errors.ts';
import { createAdminClient } from '../serving/admin-client.ts';
import type { MetricsSnapshot } from '../serving/api-types.ts';
import { sumMetricSnapshots } from '../serving/metrics-sum.ts';
import type { createDataPlaneActivities, RoutingSummary } from './data-plane.ts';
import { domainFailure, FailureType } from './failures.ts';
import { cancellationSignal, heartbeat } from './heartbeat.ts';

export interface FleetDeps {
  desired: DesiredStateStore;
  /** Each environment's OCI store, where `package` pushed the bundles. */
  stores: BundleStores;
  /** Bearer token of the replicas' admin APIs, for their metrics. */
  adminToken: string | undefined;
  /** A replica whose last report is older than this is not live (default 10 s; replicas report every 2 s). */
  liveWithinMs?: number;
  /** How long one attempt waits for the replicas before it fails and is retried (default 20 s). */
  waitMs?: number;
  /** How often the reports are read while waiting (default 250 ms). */
  pollMs?: number;
}

type DataPlaneActivities = ReturnType<typeof createDataPlaneActivities>;

/** The record's routing of one model as the workflow sees routing. */
function summarize(state: DesiredState, model: string): RoutingSummary {
  const routing: ModelRouting | undefined = state.models[model];
  if (!routing) return { stable: null, canary: null, shadow: null, loaded: [], generation: state.generation };
  const named = [routing.stable, routing.canary, routing.shadow, routing.previousStable];
  return {
    stable: routing.stable.version,
    canary: routing.canary ? { version: routing.canary.version, weight: routing.canary.weight } : null,
    shadow: routing.shadow?.version ?? null,
    loaded: [...new Set(named.flatMap((ref) => (ref ? [ref.version] : [])))],
    generation: state.generation,
  };
}

/** A change the record refuses (a rule of `desired-state/types.ts`) is the request's fault, not retried. */
function refused(what: string, error: unknown): unknown {
  if (error instanceof DesiredStateError && !(error instanceof DesiredStateConflictError))
    return domainFailure(FailureType.DataPlaneRejected, `desired state refused to ${what}: ${error.message}`);
  return error;
}

export function createFleetDataPlaneActivities(deps: FleetDeps): DataPlaneActivities {
  const liveWithinMs = deps.liveWithinMs ?? 10_000;
  const waitMs = deps.waitMs ?? 20_000;
  const pollMs = deps.pollMs ?? 250;

  /**
   * The OCI digest of `version`'s bundle: from the record when it already names the version, else
   * by its tag in the environment's store, checked to be a modelship bundle of that version.
   */
  async function refOf(
    deployment: DeploymentRef,
    version: string,
    bundleDigest?: string,
  ): Promise<VersionRef> {
    const { model, environment } = deployment;
    const routing = (await deps.desired.read(environment)).models[model];
    const known = routing
      ? [routing.stable, routing.canary, routing.shadow, routing.previousStable].find(
          (ref) => ref?.version === version,
        )
      : undefined;
    if (known) return { version, bundle: known.bundle };
    const { store } = deps.stores.storeFor(environment);
    const repository = bundleRepository(model);
    const tag = versionTag(environment, version);
    try {
      const fetched = await store.fetchManifest(repository, { tag });
      const manifest = parseImageManifest(fetched.bytes, `${repository}:${tag}`);
      const packaged = manifest.annotations?.['vnd.modelship.bundle.digest'] ?? '';
      const matches = bundleDigest ? packaged === bundleDigest : versionForBundle(packaged) === version;
      if (manifest.artifactType !== BUNDLE_ARTIFACT_TYPE || !matches) {
        throw domainFailure(
          FailureType.DataPlaneRejected,
          `${repository}:${tag} in ${store.describe()} is not the modelship bundle of version ${version} (artifact type ${manifest.artifactType ?? 'none'}, bundle ${packaged || 'unnamed'})`,
        );
      }
      return { version, bundle: fetched.descriptor.digest };
    } catch (error) {
      if (error instanceof OciError && error.kind === 'not-found') {
        throw domainFailure(
          FailureType.DataPlaneRejected,
          `version ${version} of ${model} is not in ${store.describe()} (${repository}:${tag}): it must be packaged for ${environment} first`,
        );
      }
      throw error;
    }
  }

  /** Waits until every live replica serves `state`'s generation; see the module comment. */
  async function converged(state: DesiredState): Promise<void> {
    const deadline = Date.now() + waitMs;
    const signal = cancellationSignal();
    for (;;) {
      const reports = await deps.desired.replicas(state.environment);
      const verdict = convergence({
        desired: state,
        reports: reports.reports,
        now: reports.readAt,
        liveWithinMs,
      });
      heartbeat({ convergence: verdict.message });
      if (verdict.state === 'done') return;
      if (verdict.state === 'failed') {
        throw domainFailure(FailureType.DataPlaneRejected, verdict.message, {
          failed: verdict.failed.map((replica) => ({ replica: replica.replica, message: replica.message })),
        });
      }
      if (Date.now() >= deadline) throw new Error(`waiting for the data plane: ${verdict.message}`);
      if (signal?.aborted) throw signal.reason;
      await new Promise((resolveWait) => setTimeout(resolveWait, pollMs));
    }
  }

  /** One change of the record, then the wait for the replicas; the model's routing after it. */
  async function change(
    deployment: DeploymentRef,
    what: string,
    models: ModelsChange,
  ): Promise<DesiredState> {
    let state: DesiredState;
    try {
      state = await deps.desired.update(deployment.environment, models, {
        by: deployment.model,
        reason: `${deployment.model}: ${what}`,
      });
    } catch (error) {
      throw refused(what, error);
    }
    await converged(state);
    return state;
  }

  /** One change of the deployment's model in the record, waited for; the model's routing after it. */
  async function changeModel(
    deployment: DeploymentRef,
    what: string,
    transition: (models: Models, model: string) => Models,
  ): Promise<RoutingSummary> {
    const state = await change(deployment, what, (models) => transition(models, deployment.model));
    return summarize(state, deployment.model);
  }

  /** A change that routes to the candidate `input.version`, named by its bundle's OCI digest. */
  async function routeCandidate(
    input: { deployment: DeploymentRef; version: string },
    what: string,
    transition: (models: Models, model: string, ref: VersionRef) => Models,
  ): Promise<RoutingSummary> {
    const ref = await refOf(input.deployment, input.version);
    return changeModel(input.deployment, what, (models, model) => transition(models, model, ref));
  }

  const metricsOf = fleetMetrics(deps);

  return {
    async loadIntoDataPlane(input) {
      const { deployment } = input;
      const version = versionForBundle(input.bundle.digest);
      const ref = await refOf(deployment, version, input.bundle.digest);
      // Replicas load a candidate when a step first routes to it; a first version is served at once.
      const state = await change(deployment, `serve ${version} if first`, (models) =>
        serveFirstVersion(models, deployment.model, ref),
      );
      const routing = summarize(state, deployment.model);
      return { version, becameStable: routing.stable === version, routing };
    },
    setCandidateWeight: (input) =>
      routeCandidate(input, `canary ${input.version} at ${input.weight} %`, (models, model, ref) =>
        setCanary(models, model, ref, input.weight),
      ),
    mirrorToCandidate: (input) => routeCandidate(input, `shadow ${input.version}`, setShadow),
    promoteCandidate: (input) => routeCandidate(input, `promote ${input.version}`, promote),
    // Replicas load whatever a role names: promoting the version by its tag's digest restores it,
    // loaded or not, checked against the bundle digest when the caller knows it.
    async restoreVersion(input) {
      const ref = await refOf(input.deployment, input.version, input.bundleDigest);
      return changeModel(
        input.deployment,
        `restore ${input.version}: ${input.reason.slice(0, 300)}`,
        (models, model) => promote(models, model, ref),
      );
    },
    stopMirroring: (input) =>
      changeModel(input.deployment, 'shadow cleared', (models, model) =>
        models[model] ? clearShadow(models, model) : models,
      ),
    rollbackCandidate: (input) =>
      changeModel(input.deployment, `roll back: ${input.reason.slice(0, 500)}`, (models, model) =>
        models[model] ? rollback(models, model, input.toVersion) : models,
      ),
    async unloadFromDataPlane(input) {
      const model = input.deployment.model;
      const routing = (await deps.desired.read(input.deployment.environment)).models[model];
      if (
        routing &&
        [routing.stable, routing.canary, routing.shadow].some((ref) => ref?.version === input.version)
      )
        return { unloaded: false, reason: `version ${input.version} of ${model} is routed again` };
      if (routing?.previousStable?.version !== input.version) return { unloaded: true };
      // Forgetting the previous stable is what unloads it: replicas drop versions no role names.
      await change(input.deployment, `unload ${input.version}`, (models) => {
        const current = models[model];
        return current?.previousStable?.version === input.version
          ? { ...models, [model]: { ...current, previousStable: null } }
          : models;
      });
      return { unloaded: true };
    },
    async retireFromDataPlane(input) {
      const model = input.deployment.model;
      const before = (await deps.desired.read(input.deployment.environment)).models[model];
      const state = await change(input.deployment, 'retired', (models) => retire(models, model));
      const draining = before ? summarize({ ...state, models: { [model]: before } }, model).loaded : [];
      return {
        retired: before !== undefined,
        draining,
        message: before
          ? `model "${model}" retired from ${input.deployment.environment} (generation ${state.generation}): every replica stopped its traffic`
          : `model "${model}" is not in the desired state of ${input.deployment.environment}: nothing to retire`,
      };
    },
    async readModelMetrics(input) {
      const snapshot = await metricsOf(input.deployment.environment);
      return { takenAt: snapshot.takenAt, versions: snapshot.models[input.deployment.model] ?? {} };
    },
  };
}

/** The fleet's summed metrics of an environment, for the monitor and the step estimates. */
export function fleetMetrics(deps: Pick<FleetDeps, 'desired' | 'adminToken' | 'liveWithinMs'>) {
  return async (environment: string): Promise<MetricsSnapshot> => {
    const { reports } = await deps.desired.replicas(environment, {
      seenWithinMs: deps.liveWithinMs ?? 10_000,
    });
    const urls = reports.flatMap((report) => (report.url ? [report.url] : []));
    const snapshots = await Promise.all(
      urls.map((url) => createAdminClient({ baseUrl: url, token: deps.adminToken }).metrics()),
    );
    return sumMetricSnapshots(snapshots);
  };
}
