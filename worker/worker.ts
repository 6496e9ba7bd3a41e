/**
 * Wiring: activities with their dependencies, the audit interceptor, the workflow bundle.
 * Everything a worker process needs is assembled here; nothing imports this module but entry
 * points (the `worker` and `dev` commands) and tests.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, type NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import type { AuditStore } from '../audit/store.ts';
import type { DesiredStateStore } from '../desired-state/store.ts';
import type { ReconcileDataPlane } from '../gitops/reconcile.ts';
import type { RegistrySettings } from '../oci/environment-stores.ts';
import { createAdminClient } from '../serving/admin-client.ts';
import type { GitCheckouts, GitCredentials } from '../sources/git/checkouts.ts';
import { auditActivityInterceptor } from './audit-interceptor.ts';
import { DEFAULT_DATA_PLANE_URL } from './config.ts';
import type { MonitorMetrics } from './monitor-metrics.ts';
import { reconcilePass } from './reconcile-pass.ts';

/** Workflow sources, as an explicit `.ts` path so the bundler works the same under vitest and tsx. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const WORKFLOW_INTERCEPTORS_PATH = fileURLToPath(new URL('../workflows/interceptors.ts', import.meta.url));

/**
 * Bundles the workflow code once. Bundling takes seconds; tests and long-running processes
 * share one bundle across workers instead of rebuilding it for each.
 */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_PATH],
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: console.warn,
      error: console.error,
    },
  });
}

/**
 * The workflow bundle a long-running command uses: the prebuilt file at `path` when one is
 * configured (`MODELSHIP_WORKFLOW_BUNDLE`: seconds off every start, and no webpack at run time),
 * else the workflows bundled now.
 */
export async function loadWorkflowBundle(path: string | undefined): Promise<WorkflowBundle> {
  if (path === undefined) return bundleWorkflows();
  try {
    return { code: await readFile(path, 'utf8') };
  } catch (error) {
    throw new Error(
      `MODELSHIP_WORKFLOW_BUNDLE=${path} cannot be read (${(error as Error).message}); build it with \`npx tsx scripts/build-workflow-bundle.ts --out ${path}\` or unset it`,
    );
  }
}

interface ModelshipWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** MODELSHIP_HOME: artifacts and bundles are stored under it. */
  home: string;
  audit: AuditStore;
  /** The data plane rollouts drive; the default URL without a token when omitted. */
  dataPlane?: { url: string; adminToken: string | undefined };
  /** Prometheus servers analysis reads counters from instead of the admin API. */
  prometheus?: { url?: string; urls?: Record<string, string> };
  /** PEM private key that signs bundle evidence (default: `<home>/keys/evidence.key`). */
  evidenceKeyPath?: string;
  /** Credentials for deployments' Git repositories (`config.git`). */
  git?: GitCredentials;
  /** Largest model file the worker downloads or copies (`config.maxArtifactBytes`). */
  maxArtifactBytes?: number;
  /** The OCI registries bundles are pushed to (`config.registry`). */
  registry?: RegistrySettings;
  /** The desired state replicas follow: given, rollouts drive the data plane through it (`config.dataPlaneMode`). */
  desiredState?: DesiredStateStore;
  /** How long one data-plane attempt waits for the replicas before it is retried (default 20 s). */
  fleetWaitMs?: number;
  /**
   * A Temporal client for reconcile (it lists runs and may start them), connected on first use.
   * Reconcile runs only on workers given one and a desired state.
   */
  client?: () => Promise<Client>;
  /** Counts the monitors' findings for the health server's `/metrics`. */
  monitorMetrics?: MonitorMetrics;
  /** A prebuilt bundle from {@link bundleWorkflows}; bundled on the fly when omitted. */
  workflowBundle?: WorkflowBundle;
  identity?: string;
}

export async function createModelshipWorker(options: ModelshipWorkerOptions): Promise<Worker> {
  const identity = options.identity ?? `modelship-worker@${process.pid}`;
  const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    identity,
    workflowBundle,
    activities: createActivities({
      home: options.home,
      audit: options.audit,
      dataPlane: options.dataPlane ?? { url: DEFAULT_DATA_PLANE_URL, adminToken: undefined },
      ...(options.prometheus ? { prometheus: options.prometheus } : {}),
      ...(options.evidenceKeyPath ? { evidenceKeyPath: options.evidenceKeyPath } : {}),
      ...(options.git ? { git: options.git } : {}),
      ...(options.maxArtifactBytes ? { maxArtifactBytes: options.maxArtifactBytes } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.desiredState ? { desiredState: options.desiredState } : {}),
      ...(options.fleetWaitMs ? { fleetWaitMs: options.fleetWaitMs } : {}),
      ...(options.monitorMetrics
        ? { observeDecision: options.monitorMetrics.observe.bind(options.monitorMetrics) }
        : {}),
      ...(options.client
        ? { reconcile: reconcileWiring(options.client, reconcileDataPlane(options), options.taskQueue) }
        : {}),
    }),
    interceptors: { activity: [auditActivityInterceptor(options.audit, identity)] },
  });
}

/** What reconcile reads and repairs: the desired state when rollouts write one, else the admin-driven data plane. */
function reconcileDataPlane(options: ModelshipWorkerOptions): ReconcileDataPlane {
  if (options.desiredState) return { desired: options.desiredState };
  const { url, adminToken } = options.dataPlane ?? { url: DEFAULT_DATA_PLANE_URL, adminToken: undefined };
  return { admin: createAdminClient({ baseUrl: url, token: adminToken, timeoutMs: 5_000 }), url };
}

function reconcileWiring(connect: () => Promise<Client>, dataPlane: ReconcileDataPlane, taskQueue: string) {
  // One client per worker, connected by the first reconcile that needs it.
  let client: Promise<Client> | undefined;
  const shared = () => {
    client ??= connect().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
  return (checkouts: GitCheckouts) => reconcilePass({ checkouts, dataPlane, client: shared, taskQueue });
}
