/**
 * The behaviour every desired-state store must have, run against each store by its own test
 * file (`file-store.test.ts`, `postgres-store.test.ts`). Each test gets a fresh, empty place
 * from `fresh()` and opens as many stores on it as it needs: several stores on one place are
 * several clients, as several workers and replicas would be.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { convergence } from '../../desired-state/convergence.ts';
import { DesiredStateConflictError, DesiredStateError } from '../../desired-state/errors.ts';
import { type OpenDesiredStateOptions, openDesiredStateStore } from '../../desired-state/open.ts';
import { setCanary, setShadow } from '../../desired-state/routing.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import type { DesiredState } from '../../desired-state/types.ts';
import {
  addOnePercent,
  canaryModels,
  exitCode,
  firstLine,
  ref,
  sampleReport,
  storeChild,
  V1,
  V2,
  V3,
  waitFor,
} from './support.ts';

/** A store implementation under test. */
export interface StoreSubject {
  name: string;
  /** A new, empty place to open stores on. */
  fresh(): Promise<OpenDesiredStateOptions>;
}

/** Registers the contract suite for `subject`. */
export function describeStoreContract(subject: StoreSubject): void {
  describe(`${subject.name}: the desired-state store contract`, () => {
    const open: DesiredStateStore[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });
    async function openOn(where: OpenDesiredStateOptions): Promise<DesiredStateStore> {
      const store = await openDesiredStateStore(where);
      open.push(store);
      return store;
    }
    const newStore = async () => openOn(await subject.fresh());

    it('reads an environment nobody wrote as generation 0 with no models', async () => {
      const store = await newStore();
      expect(await store.read('staging')).toEqual({
        environment: 'staging',
        generation: 0,
        models: {},
        updatedAt: null,
        updatedBy: null,
        reason: null,
      });
      expect(await store.history('staging')).toEqual([]);
    });

    it('an update that changes the models adds one generation, kept with who and why', async () => {
      const store = await newStore();
      const before = Date.now();
      const first = await store.update('staging', () => canaryModels(10), {
        by: 'deploy/staging/iris',
        reason: 'canary 10 %',
      });
      expect(first).toMatchObject({
        generation: 1,
        models: canaryModels(10),
        updatedBy: 'deploy/staging/iris',
        reason: 'canary 10 %',
      });
      expect(new Date(first.updatedAt ?? 0).getTime()).toBeGreaterThanOrEqual(before - 5_000);
      const second = await store.update('staging', (models) => setCanary(models, 'iris', V2, 20));
      expect(second).toMatchObject({ generation: 2, updatedBy: null, reason: null });
      expect(await store.read('staging')).toEqual(second);
      // Other environments are untouched.
      expect((await store.read('production')).generation).toBe(0);
      expect((await store.history('staging')).map((state) => state.generation)).toEqual([2, 1]);
      expect((await store.history('staging', { limit: 1 }))[0]).toEqual(second);
    });

    it('an update that changes nothing keeps generation, time and author, and adds no history', async () => {
      const store = await newStore();
      const written = await store.update('staging', () => canaryModels(10), { by: 'first' });
      // Same models with keys in another order are the same models.
      const same = await store.update(
        'staging',
        () => ({
          iris: {
            previousStable: null,
            shadow: null,
            canary: { weight: 10, bundle: V2.bundle, version: 'v2' },
            stable: V1,
          },
        }),
        { by: 'second' },
      );
      expect(same).toEqual(written);
      expect(await store.update('staging', (models) => models)).toEqual(written);
      expect(await store.history('staging')).toHaveLength(1);
    });

    it('refuses models that break the rules, naming the field, and writes nothing', async () => {
      const store = await newStore();
      await store.update('staging', () => canaryModels(10));
      const attempts: Array<[(models: DesiredState['models']) => DesiredState['models'], RegExp]> = [
        [() => canaryModels(101), /models\.iris\.canary\.weight: must be from 0 to 100/],
        [(m) => setCanary(m, 'iris', V1, 5), /models\.iris\.canary\.version: must not be the stable version/],
        [
          (m) => setShadow(m, 'iris', ref('v1-copy', 'a')),
          /models\.iris\.shadow\.bundle: is the stable version's bundle/,
        ],
        [() => ({ Iris: canaryModels(1).iris as never }), /models\.Iris: .*DNS label/],
        [
          (m) => setCanary(m, 'iris', ref('v2', 'd'), 5),
          /canary\.bundle: version "v2" is bundle sha256:b+ in generation 1/,
        ],
      ];
      for (const [change, message] of attempts) {
        await expect(store.update('staging', change)).rejects.toThrow(message);
      }
      expect((await store.read('staging')).generation).toBe(1);
    });

    it('compare-and-set: a stale expectedGeneration is a typed conflict, the right one writes', async () => {
      const store = await newStore();
      await store.update('staging', () => canaryModels(10));
      const stale = store.update('staging', () => canaryModels(30), { expectedGeneration: 0 });
      await expect(stale).rejects.toBeInstanceOf(DesiredStateConflictError);
      await expect(stale).rejects.toMatchObject({
        environment: 'staging',
        expectedGeneration: 0,
        actualGeneration: 1,
      });
      const fresh = await store.update('staging', () => canaryModels(30), { expectedGeneration: 1 });
      expect(fresh.generation).toBe(2);
    });

    it('a change that throws passes its own error through and writes nothing', async () => {
      const store = await newStore();
      const mistake = new RangeError('the caller got it wrong');
      await expect(
        store.update('staging', () => {
          throw mistake;
        }),
      ).rejects.toBe(mistake);
      expect((await store.read('staging')).generation).toBe(0);
    });

    it('refuses environment and replica names that are not safe labels', async () => {
      const store = await newStore();
      for (const environment of ['../etc', 'Staging', 'a/b', '']) {
        await expect(store.read(environment)).rejects.toBeInstanceOf(DesiredStateError);
        await expect(store.update(environment, () => ({}))).rejects.toThrow(/DNS label/);
      }
      for (const replica of ['../../etc/passwd', '.hidden', 'Serve-0', 'a/b']) {
        await expect(store.report(sampleReport({ replica }))).rejects.toThrow(
          /replica report refused: replica:/,
        );
      }
      await expect(
        store.report(sampleReport({ status: 'converged', generation: 3, serving: 2 })),
      ).rejects.toThrow(/serving:/);
    });

    it('20 concurrent increments from four clients land as 20 generations', async () => {
      const where = await subject.fresh();
      const stores = await Promise.all([1, 2, 3, 4].map(() => openOn(where)));
      await stores[0]?.update('staging', () => canaryModels(0));
      const results = await Promise.all(
        stores.flatMap((store) => Array.from({ length: 5 }, () => store.update('staging', addOnePercent))),
      );
      expect(results.map((state) => state.generation).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      const final = await stores[3]?.read('staging');
      expect(final).toMatchObject({ generation: 21, models: canaryModels(20) });
      const history = await stores[1]?.history('staging');
      expect(history?.map((state) => state.models.iris?.canary?.weight)).toEqual(
        Array.from({ length: 21 }, (_, i) => 20 - i),
      );
    });

    it('three processes incrementing at once lose nothing', async () => {
      const where = await subject.fresh();
      const store = await openOn(where);
      await store.update('staging', () => canaryModels(0));
      const children = [1, 2, 3].map(() => storeChild(where, 'increment', 'staging', '5'));
      const exits = children.map(exitCode);
      await Promise.all(children.map(firstLine));
      for (const child of children) child.stdin?.end('go\n');
      expect(await Promise.all(exits)).toEqual([0, 0, 0]);
      expect(await store.read('staging')).toMatchObject({ generation: 16, models: canaryModels(15) });
      const authors = new Set((await store.history('staging')).map((state) => state.updatedBy));
      expect(authors.size).toBe(4); // the three children and the first write (null)
    }, 30_000);

    it('keeps one report per replica, stamped by the store, and forgets on request', async () => {
      const store = await newStore();
      const first = await store.report(sampleReport({ replica: 'serve-0', generation: 1, serving: 1 }));
      await store.report(
        sampleReport({
          replica: 'serve-1',
          status: 'converging',
          generation: 2,
          serving: 1,
          url: 'http://10.0.0.7:8080',
        }),
      );
      const replaced = await store.report(
        sampleReport({
          replica: 'serve-0',
          status: 'failed',
          generation: 2,
          serving: 1,
          message: 'pull failed: 404',
        }),
      );
      expect(new Date(replaced.reportedAt).getTime()).toBeGreaterThanOrEqual(
        new Date(first.reportedAt).getTime(),
      );
      const { reports, readAt } = await store.replicas('staging');
      expect(reports.map((r) => [r.replica, r.status, r.generation, r.serving, r.message, r.url])).toEqual([
        ['serve-0', 'failed', 2, 1, 'pull failed: 404', null],
        ['serve-1', 'converging', 2, 1, null, 'http://10.0.0.7:8080'],
      ]);
      expect(new Date(readAt).getTime()).toBeGreaterThanOrEqual(new Date(replaced.reportedAt).getTime());
      expect((await store.replicas('production')).reports).toEqual([]);

      // serve-0 last reported `gap` before serve-1. A limit just under serve-0's age takes serve-1
      // and leaves serve-0 out however slowly the calls below run, as long as they take less than
      // the gap (so a loaded machine cannot make this flaky).
      const gap = 400;
      await sleep(gap);
      const fresh = await store.report(sampleReport({ replica: 'serve-1' }));
      const serve0Age = new Date(fresh.reportedAt).getTime() - new Date(replaced.reportedAt).getTime();
      expect(serve0Age).toBeGreaterThanOrEqual(gap - 50);
      const limit = serve0Age - 1;
      const recent = await store.replicas('staging', { seenWithinMs: limit });
      expect(recent.reports.map((r) => r.replica)).toEqual(['serve-1']);
      expect(await store.forgetReplicas('staging', { notSeenForMs: limit })).toEqual(['serve-0']);
      expect(await store.forgetReplicas('staging', { replica: 'serve-1' })).toEqual(['serve-1']);
      expect(await store.forgetReplicas('staging', { replica: 'serve-1' })).toEqual([]);
      expect((await store.replicas('staging')).reports).toEqual([]);
    });

    it('convergence over the stored reports: a lagging replica is named until it catches up', async () => {
      const store = await newStore();
      const desired = await store.update('staging', () => canaryModels(10));
      await store.report(sampleReport({ replica: 'serve-0', generation: 1, serving: 1 }));
      await store.report(
        sampleReport({ replica: 'serve-1', status: 'converging', generation: 1, serving: 0 }),
      );
      const judge = async () => {
        const { reports, readAt } = await store.replicas('staging');
        return convergence({ desired, reports, now: readAt, liveWithinMs: 10_000 });
      };
      const waiting = await judge();
      expect(waiting.state).toBe('waiting');
      expect(waiting.message).toMatch(/serve-1 serves generation 0, converging to generation 1/);
      await store.report(sampleReport({ replica: 'serve-1', generation: 1, serving: 1 }));
      expect((await judge()).state).toBe('done');
    });

    it('watch delivers the current state, then each change from another client within a second', async () => {
      const where = await subject.fresh();
      const [watcher, writer] = [await openOn(where), await openOn(where)];
      await writer.update('staging', () => canaryModels(1));
      const seen: DesiredState[] = [];
      const stop = await watcher.watch('staging', (state) => seen.push(state));
      expect(seen.map((state) => state.generation)).toEqual([1]);

      const started = Date.now();
      await writer.update('staging', addOnePercent);
      await waitFor('generation 2', () => seen.at(-1)?.generation === 2, 1_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(seen.at(-1)?.models).toEqual(canaryModels(2));

      // Another environment, an unchanged update and a report are not changes of this one.
      await writer.update('production', () => canaryModels(5));
      await writer.update('staging', (models) => models);
      await writer.report(sampleReport());
      await sleep(300);
      expect(seen.map((state) => state.generation)).toEqual([1, 2]);

      await stop();
      await writer.update('staging', addOnePercent);
      await sleep(300);
      expect(seen).toHaveLength(2);
    });

    it('everything survives closing every store and opening again (a restart)', async () => {
      const where = await subject.fresh();
      const before = await openOn(where);
      const written = await before.update(
        'staging',
        (m) => setShadow(setCanary({ ...m, ...canaryModels(0) }, 'iris', V2, 25), 'iris', V3),
        {
          by: 'worker-1',
        },
      );
      await before.report(sampleReport({ generation: 1, serving: 1 }));
      await before.close();
      await expect(before.read('staging')).rejects.toThrow(/closed/);

      const after = await openOn(where);
      expect(await after.read('staging')).toEqual(written);
      expect(await after.history('staging')).toEqual([written]);
      expect((await after.replicas('staging')).reports.map((r) => r.replica)).toEqual(['serve-0']);
      expect((await after.update('staging', addOnePercent)).generation).toBe(2);
    });
  });
}
