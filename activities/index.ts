/** Every activity the worker registers, built from its dependencies. */
import { join } from 'node:path';
import type { AuditStore } from '../audit/store.ts';
import type { DesiredStateStore } from '../desired-state/store.ts';
import { bundleStores, type RegistrySettings } from '../oci/environment-stores.ts';
import { createAdminClient } from '../serving/admin-client.ts';
import { GitCheckouts, type GitCredentials } from '../sources/git/checkouts.ts';
import { createArtifactActivities, createArtifactStore } from './artifact.ts';
import { createAuditActivities } from './audit.ts';
import { counterSources } from './counter-source.ts';
import { createDataPlaneActivities } from './data-plane.ts';
import { createFleetDataPlaneActivities, fleetMetrics } from './data-plane-fleet.ts';
import { loadEvidenceKey } from './evidence-key.ts';
import { createIdentityActivities } from './identity.ts';
import { createMonitorActivities } from './monitor.ts';
import { createMonitoringActivities } from './monitoring.ts';
import { adminMonitoringSources, fleetMonitoringSources } from './monitoring-sources.ts';
import { createPackageActivities } from './package.ts';
import { createReconcileActivities, type ReconcilePass } from './reconcile.ts';
import { createReleaseActivities } from './release.ts';
import { createScanActivities } from './scan.ts';
import { gitSourceTrees } from './source-tree.ts';
import { adminStableManifests, fleetStableManifests } from './stable-importance.ts';
import { createEstimateActivities } from './step-estimates.ts';
import { createSupplyChainActivities } from './supply-chain.ts';
import { createValidateActivities } from './validate.ts';

interface ActivityDeps {
  /** Absolute MODELSHIP_HOME. */
  home: string;
  audit: AuditStore;
  /** The serving data plane's admin API. */
  dataPlane: { url: string; adminToken: string | undefined };
  /** PEM private key that signs the bundles' evidence (default: `<home>/keys/evidence.key`, created once). */
  evidenceKeyPath?: string;
  /** Prometheus servers analysis reads counters from (all environments, or per environment). */
  prometheus?: { url?: string; urls?: Record<string, string> };
  /** Credentials for fetching deployments' repositories (`gitCredentialsFromEnv`). */
  git?: GitCredentials;
  /** Largest model file the worker downloads or copies. */
  maxArtifactBytes?: number;
  /** The OCI registries bundles are pushed to (default: the embedded layout under `<home>/oci`). */
  registry?: RegistrySettings;
  /**
   * Given, the data plane is a fleet of replicas following this desired state
   * (`MODELSHIP_DATA_PLANE_MODE=desired-state`): rollouts write the record and wait for the
   * replicas; absent, they drive the one data plane at `dataPlane.url` through its admin API.
   */
  desiredState?: DesiredStateStore;
  /** How long one data-plane attempt waits for the replicas before it is retried (default 20 s). */
  fleetWaitMs?: number;
  /** Told of every decision recorded (the worker's monitor metrics, `worker/monitor-metrics.ts`). */
  observeDecision?: (
    input: Parameters<ReturnType<typeof createAuditActivities>['recordDecision']>[0],
  ) => void;
  /** One reconcile pass with this worker's access (`worker/reconcile-pass.ts`); absent, reconcile is refused. */
  reconcile?: (checkouts: GitCheckouts) => ReconcilePass | undefined;
}

/**
 * The worker's registry credentials for an `oci://` model source on `host`: those of the
 * configured registry on that host, never sent to another host.
 */
function registryCredentialsFor(registry: RegistrySettings | undefined, host: string) {
  if (!registry?.credentials) return undefined;
  const hosts = [registry.url, ...Object.values(registry.urls)].flatMap((url) =>
    url ? [new URL(url).host] : [],
  );
  return hosts.includes(host) ? registry.credentials : undefined;
}

export function createActivities(deps: ActivityDeps) {
  const admin = createAdminClient({ baseUrl: deps.dataPlane.url, token: deps.dataPlane.adminToken });
  // One checkout cache and one artifact store per worker, shared by every activity that reads
  // the deployment's commit or its model file.
  const checkouts = new GitCheckouts({ home: deps.home, credentials: deps.git ?? {} });
  const trees = gitSourceTrees(checkouts);
  const reconcile = deps.reconcile?.(checkouts);
  const artifacts = createArtifactStore({
    home: deps.home,
    trees,
    ...(deps.maxArtifactBytes ? { maxBytes: deps.maxArtifactBytes } : {}),
    registryCredentials: (host) => registryCredentialsFor(deps.registry, host),
  });
  const stores = bundleStores({ home: deps.home, ...(deps.registry ? { registry: deps.registry } : {}) });
  const fleet = deps.desiredState
    ? {
        desired: deps.desiredState,
        stores,
        adminToken: deps.dataPlane.adminToken,
        ...(deps.fleetWaitMs ? { waitMs: deps.fleetWaitMs } : {}),
      }
    : undefined;
  const metrics = fleet ? fleetMetrics(fleet) : () => admin.metrics();
  return {
    ...createArtifactActivities({ store: artifacts }),
    ...createValidateActivities({
      home: deps.home,
      trees,
      artifacts,
      stableManifests: fleet
        ? fleetStableManifests(fleet)
        : adminStableManifests({ admin, bundlesDir: join(deps.home, 'bundles') }),
    }),
    ...createScanActivities({ artifacts }),
    ...createSupplyChainActivities({ trees, artifacts }),
    ...createIdentityActivities({ trees }),
    ...createPackageActivities({
      home: deps.home,
      artifacts,
      stores,
      ...(deps.evidenceKeyPath
        ? { evidenceKey: () => loadEvidenceKey({ home: deps.home, keyPath: deps.evidenceKeyPath as string }) }
        : {}),
    }),
    ...createAuditActivities({
      audit: deps.audit,
      ...(deps.observeDecision ? { observe: deps.observeDecision } : {}),
    }),
    ...(fleet
      ? createFleetDataPlaneActivities(fleet)
      : createDataPlaneActivities({ admin, bundlesDir: join(deps.home, 'bundles') })),
    ...createMonitorActivities({
      admin,
      counters: counterSources({
        admin,
        ...(fleet ? { fleet: metrics } : {}),
        ...(deps.prometheus?.url ? { prometheusUrl: deps.prometheus.url } : {}),
        ...(deps.prometheus?.urls ? { prometheusUrls: deps.prometheus.urls } : {}),
      }),
    }),
    ...createReleaseActivities({ audit: deps.audit }),
    ...createMonitoringActivities({
      sources: fleet
        ? fleetMonitoringSources({ desired: fleet.desired, adminToken: fleet.adminToken })
        : adminMonitoringSources(admin),
    }),
    ...createEstimateActivities({ metrics }),
    ...createReconcileActivities(reconcile ? { reconcile } : {}),
  };
}
