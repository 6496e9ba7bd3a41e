/** Shadow traffic: mirrored off the request path, compared row by row with stable, bounded. */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VersionMetricsSnapshot } from '../../serving/admin-client.ts';
import { repoPath } from '../support/paths.ts';
import {
  eventually,
  infer,
  irisHoldout,
  irisRequest,
  makeBundle,
  outputsOf,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

const VERSIONS = ['v1', 'v2', 'bad-disagree', 'bad-slow', 'bad-interface'];

/** `agreement_with_v1_holdout` of an iris version in models/catalog.json. */
async function holdoutAgreement(version: string): Promise<number> {
  const catalog = JSON.parse(await readFile(repoPath('models/catalog.json'), 'utf8')) as {
    datasets: { name: string; versions: { version: string; agreement_with_v1_holdout: number }[] }[];
  };
  const found = catalog.datasets.find((d) => d.name === 'iris')?.versions.find((v) => v.version === version);
  if (!found) throw new Error(`iris ${version} is not in models/catalog.json`);
  return found.agreement_with_v1_holdout;
}

describe('shadow traffic', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const bundles: Record<string, string> = {};
  let holdout: Awaited<ReturnType<typeof irisHoldout>>;
  let t: TestServer;

  beforeAll(async () => {
    dir = await scratchDir();
    holdout = await irisHoldout();
    for (const version of VERSIONS) bundles[version] = await makeBundle({ root: dir.path, version });
  });
  afterAll(async () => {
    await dir?.remove();
  });

  const start = async (shadowQueueSize?: number) => {
    t = await startTestServer(shadowQueueSize === undefined ? {} : { shadowQueueSize });
    for (const version of VERSIONS)
      await t.admin.loadVersion({ model: 'iris', version, bundlePath: bundles[version] ?? '' });
  };
  afterEach(async () => {
    await t?.close();
  });

  const shadowOf = async (version: string): Promise<VersionMetricsSnapshot['shadow']> => {
    const snapshot = await t.admin.metrics();
    return snapshot.models.iris?.[version]?.shadow ?? { compared: 0, agreed: 0, dropped: 0, errors: 0 };
  };
  const sendHoldoutRowByRow = async () => {
    const replies = [];
    for (const row of holdout.rows) replies.push(await infer(t.url, 'iris', irisRequest([row])));
    return replies;
  };

  describe('with room in the queue', () => {
    beforeEach(() => start());

    it('counts how often bad-disagree agrees with v1, and never returns its answers', async () => {
      await t.admin.setShadow({ model: 'iris', version: 'bad-disagree' });
      const replies = await sendHoldoutRowByRow();
      expect(replies.every((reply) => reply.headers.get('x-modelship-version') === 'v1')).toBe(true);
      // v1's own answers: 41 of 45 right (README), whatever the shadow said.
      const labels = replies.map((reply) => outputsOf(reply)[0]?.data[0]);
      expect(labels.filter((label, i) => label === holdout.labels[i])).toHaveLength(41);

      await eventually(async () => (await shadowOf('bad-disagree')).compared === 45);
      const expected = Math.round((await holdoutAgreement('bad-disagree')) * 45);
      expect(await shadowOf('bad-disagree')).toEqual({
        compared: 45,
        agreed: expected,
        dropped: 0,
        errors: 0,
      });
      expect(expected).toBeLessThan(41);
    });

    it('counts v2 as agreeing with v1 on all rows but one, batch rows counted one by one', async () => {
      await t.admin.setShadow({ model: 'iris', version: 'v2' });
      expect((await infer(t.url, 'iris', irisRequest(holdout.rows))).status).toBe(200);
      await eventually(async () => (await shadowOf('v2')).compared === 45);
      expect(await shadowOf('v2')).toEqual({ compared: 45, agreed: 44, dropped: 0, errors: 0 });
    });

    it('mirrors only traffic routed to stable: not the canary share, not pinned requests', async () => {
      await t.admin.setShadow({ model: 'iris', version: 'v2' });
      await t.admin.setCanary({ model: 'iris', version: 'bad-disagree', weight: 50 });
      let toStable = 0;
      for (let i = 0; i < 40; i += 1) {
        const reply = await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]));
        if (reply.headers.get('x-modelship-version') === 'v1') toStable += 1;
      }
      for (let i = 0; i < 10; i += 1) {
        await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]), { 'x-modelship-version': 'v1' });
      }
      await eventually(async () => (await shadowOf('v2')).compared === toStable);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await shadowOf('v2')).compared).toBe(toStable);
    });

    it('counts a shadow that cannot run the request as a shadow error', async () => {
      // bad-interface takes 3 features; the copies of 4-feature requests fail inside the shadow only.
      await t.admin.setShadow({ model: 'iris', version: 'bad-interface' });
      for (let i = 0; i < 5; i += 1)
        expect((await infer(t.url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status).toBe(200);
      await eventually(async () => (await shadowOf('bad-interface')).errors === 5);
      expect(await shadowOf('bad-interface')).toEqual({ compared: 0, agreed: 0, dropped: 0, errors: 5 });
    });
  });

  describe('with a full queue', () => {
    beforeEach(() => start(2));

    it('drops copies instead of queueing them, and counts every one', async () => {
      // bad-slow runs about 1,000 nodes per row: on 45-row batches it falls far behind stable.
      await t.admin.setShadow({ model: 'iris', version: 'bad-slow' });
      const client = async () => {
        for (let i = 0; i < 4; i += 1)
          expect((await infer(t.url, 'iris', irisRequest(holdout.rows))).status).toBe(200);
      };
      await Promise.all(Array.from({ length: 16 }, client));
      await eventually(async () => {
        const s = await shadowOf('bad-slow');
        return s.compared / 45 + s.dropped + s.errors === 64;
      }, 20_000);
      const shadow = await shadowOf('bad-slow');
      expect(shadow.dropped).toBeGreaterThan(0);
      expect(shadow.errors).toBe(0);
      expect(shadow.compared).toBeGreaterThanOrEqual(2 * 45);
    });
  });
});
