/**
 * Where `MonitorModel` reads its numbers: the one data plane's admin API, or every replica of
 * the environment that reports to the desired state, summed (a version's rows are spread over
 * the replicas by the load balancer, so one replica alone would see a share of the evidence).
 */
import type { DesiredStateStore } from '../desired-state/store.ts';
import { type LiveStatistics, sumLiveStatistics } from '../domain/reference-profile.ts';
import { type AdminClient, createAdminClient } from '../serving/admin-client.ts';
import { adminPerformance, fleetPerformance, labelCountsSource } from './live-performance.ts';
import type { MonitoringSources } from './monitoring.ts';

/** The numbers of the single data plane `admin` drives. */
export function adminMonitoringSources(admin: AdminClient): MonitoringSources {
  return {
    statistics: async (_environment, model) => (await admin.statistics({ model })).versions,
    profile: (_environment, model, version) => admin.referenceProfile({ model, version }),
    labels: labelCountsSource(adminPerformance(admin)),
  };
}

/** The numbers of an environment's replicas that reported within `liveWithinMs`, summed per version. */
export function fleetMonitoringSources(deps: {
  desired: DesiredStateStore;
  adminToken: string | undefined;
  liveWithinMs?: number;
}): MonitoringSources {
  const clients = async (environment: string) => {
    const { reports } = await deps.desired.replicas(environment, {
      seenWithinMs: deps.liveWithinMs ?? 10_000,
    });
    return reports.flatMap((report) =>
      report.url ? [createAdminClient({ baseUrl: report.url, token: deps.adminToken })] : [],
    );
  };
  return {
    labels: labelCountsSource(fleetPerformance(deps)),
    async statistics(environment, model) {
      const perReplica = await Promise.all(
        (await clients(environment)).map(async (client) => (await client.statistics({ model })).versions),
      );
      const byVersion = new Map<string, LiveStatistics[]>();
      for (const versions of perReplica) {
        for (const entry of versions)
          byVersion.set(entry.version, [...(byVersion.get(entry.version) ?? []), entry]);
      }
      return [...byVersion.values()].map((entries) => sumLiveStatistics(entries));
    },
    async profile(environment, model, version) {
      for (const client of await clients(environment)) {
        const profile = await client.referenceProfile({ model, version }).catch(() => undefined);
        if (profile) return profile;
      }
      return undefined;
    },
  };
}
