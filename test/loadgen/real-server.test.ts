/**
 * The load generator against modelship's real server (in this process, real bundles of the
 * committed models): version shares and per-version accuracy come out as the server routes and
 * as the models answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../serving/loadgen/run.ts';
import { makeBundle, scratchDir, startTestServer, type TestServer } from '../serving/support.ts';
import { repoPath } from '../support/paths.ts';

const HOLDOUT = repoPath('models/iris/holdout.csv');

describe('runLoad against the serving data plane', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    t = await startTestServer();
    for (const version of ['v1', 'v2']) {
      await t.admin.loadVersion({
        model: 'iris',
        version,
        bundlePath: await makeBundle({ root: dir.path, version }),
      });
    }
    await t.admin.setCanary({ model: 'iris', version: 'v2', weight: 20 });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it("counts the canary's share from the version header", async () => {
    const summary = await runLoad({
      url: t.url,
      model: 'iris',
      holdout: HOLDOUT,
      mode: { kind: 'concurrency', concurrency: 4 },
      requests: 1000,
    });
    expect(summary).toMatchObject({ requests: 1000, ok: 1000, errors: 0 });
    expect(Object.keys(summary.versions)).toEqual(['v1', 'v2']);
    expect(summary.versions.v2?.share).toBeCloseTo(0.2, 1);
  });

  it("scores each version's predictions against the holdout labels", async () => {
    // Pinned, one pass over the 45 holdout rows: exactly the accuracies in models/catalog.json.
    for (const [version, accuracy] of [
      ['v1', 41 / 45],
      ['v2', 42 / 45],
    ] as const) {
      const summary = await runLoad({
        url: t.url,
        model: 'iris',
        holdout: HOLDOUT,
        mode: { kind: 'concurrency', concurrency: 1 },
        requests: 45,
        pinVersion: version,
      });
      expect(summary.versions[version]).toMatchObject({ requests: 45, scored: 45, share: 1 });
      expect(summary.versions[version]?.accuracy).toBeCloseTo(accuracy, 10);
    }
  });
});
