/**
 * Where the control plane reads a model's live performance (labels fed back, the estimate without
 * labels): the one data plane's admin API, or every live replica of an environment summed. The
 * labels of a version land on whichever replica the load balancer sends them to, so one replica
 * alone holds a share of them; the sum (`sumPerformanceReports`) adds the raw counts and derives
 * the rates and intervals again, as `fleetMetrics` does for the request counters.
 *
 * `labelCountsSource` turns either into what the monitor's floor test reads (labelled and correct
 * rows of one version, cumulative), for `MonitoringSources.labels`.
 */

import { sumPerformanceReports } from '../analysis/live-performance.ts';
import type { LabelCounts } from '../analysis/monitor-look.ts';
import type { PerformanceReport } from '../domain/label-statistics.ts';
import { AdminApiError, type AdminClient, createAdminClient } from '../serving/admin-client.ts';

/** Reads a model's performance in an environment. */
export type PerformanceReader = (environment: string, model: string) => Promise<PerformanceReport>;

/** What the fleet reader needs of the desired-state store: the replicas that reported lately. */
interface ReplicaDirectory {
  replicas(
    environment: string,
    options?: { seenWithinMs?: number },
  ): Promise<{ reports: readonly { url: string | null }[] }>;
}

const empty = (model: string): PerformanceReport => ({
  model,
  takenAt: new Date(0).toISOString(),
  confidence: 0.95,
  versions: [],
});

/** A replica that never served the model answers 404: it contributes nothing. */
async function orEmpty(model: string, read: Promise<PerformanceReport>): Promise<PerformanceReport> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof AdminApiError && error.status === 404) return empty(model);
    throw error;
  }
}

/** The single data plane `admin` drives. */
export function adminPerformance(admin: AdminClient): PerformanceReader {
  return (_environment, model) => orEmpty(model, admin.performance({ model }));
}

/** Every replica of the environment that reported within `liveWithinMs` (default 10 s), summed. */
export function fleetPerformance(deps: {
  desired: ReplicaDirectory;
  adminToken: string | undefined;
  liveWithinMs?: number;
}): PerformanceReader {
  return async (environment, model) => {
    const { reports } = await deps.desired.replicas(environment, {
      seenWithinMs: deps.liveWithinMs ?? 10_000,
    });
    const urls = reports.flatMap((report) => (report.url ? [report.url] : []));
    const each = await Promise.all(
      urls.map((url) =>
        orEmpty(model, createAdminClient({ baseUrl: url, token: deps.adminToken }).performance({ model })),
      ),
    );
    return sumPerformanceReports(model, each);
  };
}

/**
 * Labelled and correct rows of one version, and the estimate without labels where the model's
 * probabilities allow one (undefined when there is neither), for the monitor.
 */
export function labelCountsSource(read: PerformanceReader) {
  return async (environment: string, model: string, version: string): Promise<LabelCounts | undefined> => {
    const entry = (await read(environment, model)).versions.find((v) => v.version === version);
    if (entry === undefined) return undefined;
    const expected = entry.estimate.expectedAccuracy;
    if (entry.counts.labelled === 0 && !expected) return undefined;
    return {
      labelled: entry.counts.labelled,
      correct: entry.counts.correct,
      ...(expected
        ? { estimate: { rows: entry.estimate.rows, accuracy: expected.value, high: expected.high } }
        : {}),
    };
  };
}
