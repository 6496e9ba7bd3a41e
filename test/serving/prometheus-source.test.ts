/**
 * The monitor's Prometheus counter source against a real Prometheus (Debian's package) scraping a
 * real data plane: the counters it reads equal the admin API's, and a bad canary judged from them
 * fails just as it does from the admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCounterSource, prometheusCounterSource } from '../../activities/counter-source.ts';
import { createMonitorActivities } from '../../activities/monitor.ts';
import { runLoad } from '../../serving/loadgen/run.ts';
import { ModelDeploymentSchema } from '../../specs/schema.ts';
import { repoPath } from '../support/paths.ts';
import { startPrometheus, type TestPrometheus } from '../support/prometheus.ts';
import { makeBundle, scratchDir, startTestServer, type TestServer } from './support.ts';

describe('Prometheus counter source', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;
  let prometheus: TestPrometheus;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v1',
      bundlePath: await makeBundle({ root: dir.path, version: 'v1' }),
    });
    await t.admin.loadVersion({
      model: 'iris',
      version: 'bad',
      bundlePath: await makeBundle({ root: dir.path, version: 'bad-disagree' }),
    });
    await t.admin.setCanary({ model: 'iris', version: 'bad', weight: 50 });
    prometheus = await startPrometheus({ targets: [new URL(t.url).host] });
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    await t?.close();
    await dir?.remove();
  });

  const load = (durationMs: number, signal?: AbortSignal) =>
    runLoad(
      {
        url: t.url,
        model: 'iris',
        holdout: repoPath('models/iris/holdout.csv'),
        mode: { kind: 'rate', ratePerS: 300 },
        durationMs,
        preflight: false,
      },
      signal ? { signal } : {},
    );

  it('reads the same counters as the admin API once Prometheus has scraped them', async () => {
    await load(2000);
    const admin = await adminCounterSource(t.admin).read('iris');
    const served = admin.v1?.requests ?? 0;
    expect(served).toBeGreaterThan(100);
    // Traffic has stopped: wait for a scrape that has all of it.
    await prometheus.waitFor('modelship_requests_total{model="iris",version="v1"}', (v) => v === served);
    await prometheus.waitFor(
      'modelship_requests_total{model="iris",version="bad"}',
      (v) => v === (admin.bad?.requests ?? -1),
    );
    const fromPrometheus = await prometheusCounterSource({ url: prometheus.url }).read('iris');
    // The admin API also says since when it counts; Prometheus has no such series.
    const counters = Object.fromEntries(
      Object.entries(admin).map(([version, read]) => {
        const { countingSince: _, ...rest } = read as typeof read & { countingSince?: string };
        return [version, rest];
      }),
    );
    expect(fromPrometheus).toEqual(counters);
  });

  it('feeds the judge: a canary that predicts differently fails, read through Prometheus', async () => {
    const analysis = ModelDeploymentSchema.shape.spec.shape.analysis.parse({ minRequests: 50 });
    const monitor = createMonitorActivities({
      admin: t.admin,
      counters: () => prometheusCounterSource({ url: prometheus.url }),
    });
    const stop = new AbortController();
    const traffic = load(30_000, stop.signal);
    try {
      const result = await monitor.watchCandidate({
        deployment: {
          model: 'iris',
          environment: 'staging',
          commit: '0'.repeat(40),
          specPath: 'specs/iris.yaml',
          repository: repoPath('.'),
        },
        stable: 'v1',
        candidate: 'bad',
        mode: 'analysis',
        durationMs: 25_000,
        intervalMs: 1000,
        analysis,
        candidateWeight: 50,
      });
      expect(result.verdict.outcome).toBe('fail');
      expect(result.verdict.reason).toMatch(
        /class distribution: candidate \d+ rows vs stable \d+, total variation 0\.\d+/,
      );
    } finally {
      stop.abort();
      await traffic.catch(() => undefined);
    }
  }, 60_000);

  it('says which Prometheus could not be reached', async () => {
    await expect(prometheusCounterSource({ url: 'http://127.0.0.1:9' }).read('iris')).rejects.toThrow(
      /Prometheus at http:\/\/127\.0\.0\.1:9 is unreachable/,
    );
  });
});

describe('Prometheus counter source over two replicas', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const replicas: TestServer[] = [];
  let prometheus: TestPrometheus;

  beforeAll(async () => {
    dir = await scratchDir();
    for (const _ of [1, 2]) {
      const replica = await startTestServer();
      await replica.admin.loadVersion({
        model: 'iris',
        version: 'v1',
        bundlePath: await makeBundle({ root: dir.path, version: 'v1' }),
      });
      replicas.push(replica);
    }
    prometheus = await startPrometheus({ targets: replicas.map((replica) => new URL(replica.url).host) });
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    for (const replica of replicas) await replica.close();
    await dir?.remove();
  });

  it("sums the replicas' series: each replica's traffic counts once", async () => {
    const durations = [1500, 700];
    await Promise.all(
      replicas.map((replica, index) =>
        runLoad({
          url: replica.url,
          model: 'iris',
          holdout: repoPath('models/iris/holdout.csv'),
          mode: { kind: 'rate', ratePerS: 200 },
          durationMs: durations[index] ?? 500,
          preflight: false,
        }),
      ),
    );
    const perReplica = await Promise.all(
      replicas.map(async (replica) => (await adminCounterSource(replica.admin).read('iris')).v1),
    );
    const requests = perReplica.map((counters) => counters?.requests ?? 0);
    expect(requests[0]).not.toBe(requests[1]);
    const total = requests.reduce((sum, value) => sum + value, 0);
    await prometheus.waitFor('sum(modelship_requests_total{model="iris",version="v1"})', (v) => v === total);
    const read = (await prometheusCounterSource({ url: prometheus.url }).read('iris')).v1;
    expect(read?.requests).toBe(total);
    expect(read?.latency.count).toBe(perReplica.reduce((sum, c) => sum + (c?.latency.count ?? 0), 0));
    const predicted = Object.values(read?.predictions ?? {}).reduce((sum, value) => sum + value, 0);
    expect(predicted).toBe(total);
  });
});
