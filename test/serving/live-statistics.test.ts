/**
 * Live statistics over real HTTP with the real iris model: the holdout sent as live traffic lands
 * in exactly the bins its reference profile counted, pinned requests are not counted, the
 * counters never grow with traffic, and the numbers are the same on the admin API and in
 * Prometheus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveStatistics, ReferenceProfile } from '../../domain/reference-profile.ts';
import { sumLiveStatistics } from '../../domain/reference-profile.ts';
import { AdminApiError } from '../../serving/admin-client.ts';
import { irisProfile, sample } from './live-statistics-support.ts';
import {
  call,
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
  TOKEN,
} from './support.ts';

describe('live statistics', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;
  let profile: ReferenceProfile;
  let holdout: Awaited<ReturnType<typeof irisHoldout>>;

  const statistics = async (version = 'v1'): Promise<LiveStatistics> => {
    const reply = await t.admin.statistics({ model: 'iris' });
    expect(reply.model).toBe('iris');
    const entry = reply.versions.find((candidate) => candidate.version === version);
    if (!entry) throw new Error(`no statistics for ${version}`);
    return entry;
  };
  const watch = () => {
    const loaded = t.server.registry.get('iris')?.snapshot.versions.get('v1');
    const first = loaded?.version.statistics.watches[0];
    if (!first) throw new Error('v1 has no watched input');
    return first;
  };

  beforeAll(async () => {
    dir = await scratchDir();
    holdout = await irisHoldout();
    profile = await irisProfile();
    t = await startTestServer();
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v1',
      bundlePath: await makeBundle({ root: dir.path, version: 'v1', profile }),
    });
    // v2 carries no profile: it is still listed, with no features.
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v2',
      bundlePath: await makeBundle({ root: dir.path, version: 'v2' }),
    });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('lists every loaded version, with nothing counted before traffic', async () => {
    const reply = await t.admin.statistics({ model: 'iris' });
    expect(reply.versions.map((entry) => entry.version)).toEqual(['v1', 'v2']);
    const v1 = await statistics();
    expect(v1.features.map((feature) => feature.name)).toEqual(profile.features.map((f) => f.name));
    expect(v1.features.every((feature) => feature.counts.every((count) => count === 0))).toBe(true);
    expect(v1.requests).toBe(0);
    expect(v1.quality).toEqual({ violations: {}, rejectedRequests: 0 });
    expect((await statistics('v2')).features).toEqual([]);
  });

  it('bins the holdout sent as live traffic exactly as the reference profile counted it', async () => {
    for (const row of holdout.rows) expect((await infer(t.url, 'iris', irisRequest([row]))).status).toBe(200);
    const v1 = await statistics();
    expect(v1.requests).toBe(holdout.rows.length);
    expect(v1.rows).toBe(holdout.rows.length);
    expect(v1.features).toEqual(
      profile.features.map((feature) => ({ name: feature.name, counts: feature.counts, missing: 0 })),
    );
    // One batch of every row: the same bins again.
    expect((await infer(t.url, 'iris', irisRequest(holdout.rows))).status).toBe(200);
    const twice = await statistics();
    expect(twice.requests).toBe(holdout.rows.length + 1);
    expect(twice.rows).toBe(2 * holdout.rows.length);
    expect(twice.features.map((feature) => feature.counts)).toEqual(
      profile.features.map((feature) => feature.counts.map((count) => 2 * count)),
    );
  });

  it('reports the predicted classes the judge counts, the reference classes first', async () => {
    const v1 = await statistics();
    const metrics = (await t.admin.metrics()).models.iris?.v1;
    expect(v1.predictions.classes.slice(0, profile.predictions.classes.length)).toEqual(
      profile.predictions.classes,
    );
    const counted = Object.fromEntries(v1.predictions.classes.map((c, i) => [c, v1.predictions.counts[i]]));
    for (const [label, count] of Object.entries(metrics?.predictions ?? {}))
      expect(counted[label]).toBe(count);
    expect(v1.predictions.counts.reduce((a, b) => a + b, 0)).toBe(2 * holdout.rows.length);
  });

  it('does not count requests pinned to a version', async () => {
    const before = await statistics();
    const pinned = await infer(t.url, 'iris', irisRequest(holdout.rows), { 'x-modelship-version': 'v1' });
    expect(pinned.status).toBe(200);
    const byUrl = await call(`${t.url}/v2/models/iris/versions/v1/infer`, {
      body: irisRequest(holdout.rows),
    });
    expect(byUrl.status).toBe(200);
    expect(await statistics()).toEqual(before);
  });

  it('keeps its counters in fixed memory: 10,000 more rows, the same arrays', async () => {
    const { counts, missing } = watch();
    const lengths = [counts.length, missing.length];
    const before = counts.reduce((a, b) => a + b, 0);
    const rows = Array.from({ length: 1000 }, (_, i) => holdout.rows[i % holdout.rows.length] ?? []);
    for (let i = 0; i < 10; i += 1) expect((await infer(t.url, 'iris', irisRequest(rows))).status).toBe(200);
    const after = watch();
    expect(after.counts).toBe(counts);
    expect(after.missing).toBe(missing);
    expect([after.counts.length, after.missing.length]).toEqual(lengths);
    // Every row lands in one bin of each of the 4 features.
    expect(after.counts.reduce((a, b) => a + b, 0) - before).toBe(4 * 10_000);
  });

  it('shows the same counts in Prometheus', async () => {
    const v1 = await statistics();
    const text = (await call(`${t.url}/metrics`)).text;
    expect(text).toContain('# TYPE modelship_feature_rows_total counter');
    expect(text).toContain('# HELP modelship_input_violations_total ');
    const labels = { model: 'iris', version: 'v1' };
    expect(sample(text, 'modelship_monitored_rows_total', labels)).toBe(v1.rows);
    for (const feature of v1.features) {
      feature.counts.forEach((count, bin) => {
        const at = { ...labels, feature: feature.name, bin: String(bin) };
        expect(sample(text, 'modelship_feature_rows_total', at)).toBe(count);
      });
      expect(sample(text, 'modelship_feature_missing_total', { ...labels, feature: feature.name })).toBe(0);
    }
    expect(sample(text, 'modelship_quality_rejected_requests_total', labels)).toBe(0);
    // v2 has no profile: no feature series, but its rows are counted.
    expect(text).not.toContain('modelship_feature_rows_total{model="iris",version="v2"');
    expect(sample(text, 'modelship_monitored_rows_total', { model: 'iris', version: 'v2' })).toBe(0);
  });

  it('needs the admin token', async () => {
    const path = `${t.url}/admin/v1/models/iris/statistics`;
    expect((await call(path)).status).toBe(401);
    expect((await call(path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await call(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(
      (
        await call(`${t.url}/admin/v1/models/nope/statistics`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(404);
  });

  it("serves each version's reference profile for the monitor", async () => {
    expect(await t.admin.referenceProfile({ model: 'iris', version: 'v1' })).toEqual(profile);
    expect(await t.admin.referenceProfile({ model: 'iris', version: 'v2' })).toBeUndefined();
    await expect(t.admin.referenceProfile({ model: 'iris', version: 'v9' })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('sums to the fleet total over replicas', async () => {
    const v1 = await statistics();
    const summed = sumLiveStatistics([v1, v1]);
    expect(summed.rows).toBe(2 * v1.rows);
    expect(summed.features.map((f) => f.counts)).toEqual(v1.features.map((f) => f.counts.map((c) => 2 * c)));
  });

  it('refuses a bundle whose profile does not fit the model', async () => {
    const bad = { ...profile, input: 'pixels' };
    const bundlePath = await makeBundle({ root: `${dir.path}/bad`, version: 'v1', profile: bad });
    const error = await t.admin
      .loadVersion({ model: 'iris', version: 'v3', bundlePath })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminApiError);
    expect((error as AdminApiError).status).toBe(422);
    expect((error as AdminApiError).serverMessage).toMatch(
      /the reference profile describes input "pixels", which the model does not have/,
    );
  });
});

describe('live statistics with monitoring off', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer({ monitoring: false });
    await t.admin.loadVersion({
      model: 'iris',
      version: 'v1',
      bundlePath: await makeBundle({ root: dir.path, version: 'v1', profile: await irisProfile() }),
    });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('serves, counts nothing, and says so', async () => {
    const { rows } = await irisHoldout();
    expect((await infer(t.url, 'iris', irisRequest(rows))).status).toBe(200);
    await expect(t.admin.statistics({ model: 'iris' })).rejects.toMatchObject({
      status: 404,
      serverMessage: 'monitoring is disabled on this server',
    });
    const text = (await call(`${t.url}/metrics`)).text;
    expect(text).toContain('modelship_requests_total{model="iris",version="v1"} 1');
    expect(text).not.toContain('modelship_feature_rows_total');
    const counts = t.server.registry.get('iris')?.snapshot.versions.get('v1')?.version.statistics
      .watches[0]?.counts;
    expect(counts?.every((count) => count === 0)).toBe(true);
  });
});
