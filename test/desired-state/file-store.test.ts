/**
 * The file store: the contract, then what only files can get wrong: a lock left by a dead
 * process, a crash in the middle of a write, names that would leave the folder, files edited by
 * hand.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DesiredStateCorruptError, DesiredStateError } from '../../desired-state/errors.ts';
import { openFileDesiredStateStore } from '../../desired-state/file-store.ts';
import { desiredStateDirFor, openDesiredStateStore } from '../../desired-state/open.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import type { DesiredState } from '../../desired-state/types.ts';
import { describeStoreContract } from './contract.ts';
import {
  addOnePercent,
  canaryModels,
  exitCode,
  firstLine,
  sampleReport,
  storeChild,
  waitFor,
} from './support.ts';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'modelship-desired-state-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

describeStoreContract({ name: 'file store', fresh: async () => ({ directory: await freshRoot() }) });

describe('file store on disk', () => {
  const open: DesiredStateStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });
  async function storeAt(root: string, options: Parameters<typeof openFileDesiredStateStore>[1] = {}) {
    const store = await openFileDesiredStateStore(root, options);
    open.push(store);
    return store;
  }

  it('lays the state out as files a person can read, under <home>/desired-state', async () => {
    const home = await freshRoot();
    const store = await openDesiredStateStore({ directory: desiredStateDirFor(home) });
    open.push(store);
    const state = await store.update('staging', () => canaryModels(10));
    await store.report(sampleReport());
    const folder = join(home, 'desired-state', 'staging');
    expect((await readdir(folder)).sort()).toEqual(['history.jsonl', 'replicas', 'state.json']);
    expect(JSON.parse(await readFile(join(folder, 'state.json'), 'utf8'))).toEqual({ format: 1, ...state });
    expect(await readdir(join(folder, 'replicas'))).toEqual(['serve-0.json']);
  });

  it('breaks a lock left by a process that was killed while holding it', async () => {
    const root = await freshRoot();
    const store = await storeAt(root, { staleLockMs: 400, lockTimeoutMs: 5_000 });
    await store.update('staging', () => canaryModels(0));
    const lock = join(root, 'staging', 'state.lock');
    const holder = storeChild({ directory: root }, 'hold-lock', lock);
    expect(await firstLine(holder)).toBe('holding');
    holder.kill('SIGKILL');
    await exitCode(holder);

    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      expect((await store.update('staging', addOnePercent)).generation).toBe(2);
    } finally {
      process.off('warning', onWarning);
    }
    // Broken only once older than staleLockMs, never earlier.
    const [, age] =
      /removed the stale desired-state lock .*state\.lock \((\d+) ms old/.exec(warnings.join('\n')) ?? [];
    expect(Number(age)).toBeGreaterThanOrEqual(400);
  }, 15_000);

  it('waits for a live holder and gives up after lockTimeoutMs, naming the lock and its holder', async () => {
    const root = await freshRoot();
    const store = await storeAt(root, { lockTimeoutMs: 300, staleLockMs: 60_000 });
    const lock = join(root, 'staging', 'state.lock');
    await mkdir(lock, { recursive: true });
    await writeFile(
      join(lock, 'owner.json'),
      JSON.stringify({ token: 't', pid: 4242, host: 'elsewhere', since: 'then' }),
    );
    await expect(store.update('staging', () => canaryModels(1))).rejects.toThrow(
      /state\.lock stayed locked for 300 ms.*held by pid 4242 on elsewhere/,
    );
    // Readers never take the lock.
    expect((await store.read('staging')).generation).toBe(0);
  });

  it('a crash in the middle of a write leaves the old state readable, and the next writer cleans up', async () => {
    const root = await freshRoot();
    const store = await storeAt(root, { staleLockMs: 500 });
    const written = await store.update('staging', () => canaryModels(10));
    // What a writer killed between writing its temp file and renaming it leaves behind.
    const folder = join(root, 'staging');
    const temp = join(folder, '.state.json.99999.deadbeef.tmp');
    await writeFile(temp, '{"format": 1, "environment": "staging", "generation": 2, "mod');
    const old = new Date(Date.now() - 60_000);
    await utimes(temp, old, old);

    const reopened = await storeAt(root, { staleLockMs: 500 });
    expect(await reopened.read('staging')).toEqual(written);
    expect((await reopened.update('staging', addOnePercent)).generation).toBe(2);
    expect((await readdir(folder)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps every path inside its folder', async () => {
    const root = await freshRoot();
    const store = await storeAt(join(root, 'store'));
    await expect(store.update('..', () => canaryModels(1))).rejects.toThrow(
      /environment "\.\.": .*DNS label/,
    );
    await expect(store.report(sampleReport({ environment: '..', replica: 'x' }))).rejects.toThrow(
      /environment:/,
    );
    await expect(store.report(sampleReport({ replica: '../../../escape' }))).rejects.toThrow(/replica:/);
    await expect(store.forgetReplicas('staging', { replica: '../state' })).rejects.toThrow(/replica id:/);
    expect(await readdir(root)).toEqual(['store']);
  });

  it('a hand-edited state that does not parse is an error naming environment, file and field', async () => {
    const root = await freshRoot();
    const store = await storeAt(root);
    await store.update('staging', () => canaryModels(10));
    const path = join(root, 'staging', 'state.json');
    const edited = JSON.parse(await readFile(path, 'utf8'));
    edited.models.iris.canary.weight = 150;
    await writeFile(path, JSON.stringify(edited));

    const error = await store.read('staging').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DesiredStateCorruptError);
    expect((error as Error).message).toBe(
      `desired state of environment "staging" in ${path} is malformed: models.iris.canary.weight: must be from 0 to 100 (percent)`,
    );
    // Nothing is written over it.
    await expect(store.update('staging', addOnePercent)).rejects.toBeInstanceOf(DesiredStateCorruptError);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(edited);

    await writeFile(path, '{ "format": 1, "environment": "staging", ');
    await expect(store.read('staging')).rejects.toThrow(/staging.*is malformed: not JSON/);
    await writeFile(path, JSON.stringify({ ...edited, format: 2 }));
    await expect(store.read('staging')).rejects.toThrow(/format: 2 was written by a newer modelship/);
  });

  it('a watch survives a malformed state: the error goes to onError, the next good state arrives', async () => {
    const root = await freshRoot();
    const store = await storeAt(root);
    await store.update('staging', () => canaryModels(10));
    const seen: DesiredState[] = [];
    const errors: Error[] = [];
    const stop = await store.watch('staging', (state) => seen.push(state), {
      onError: (error) => errors.push(error),
    });
    const path = join(root, 'staging', 'state.json');
    const good = await readFile(path, 'utf8');
    // Each edit lands whole (written aside, then renamed over, as the store and most editors do):
    // a plain writeFile truncates first, and a watch that reads in between rightly sees "not JSON".
    const replaceWhole = async (text: string) => {
      await writeFile(`${path}.edit`, text);
      await rename(`${path}.edit`, path);
    };
    await replaceWhole(good.replace('"weight": 10', '"weight": "ten"'));
    await waitFor('the error', () => errors.length > 0, 1_000);
    expect(errors[0]?.message).toMatch(/"staging".*models\.iris\.canary\.weight/);
    await replaceWhole(good.replace('"weight": 10', '"weight": 11'));
    await waitFor('the repaired state', () => seen.at(-1)?.models.iris?.canary?.weight === 11, 1_000);
    await stop();
  });

  it('a state file removed by hand while its history remains is refused, not read as empty', async () => {
    const root = await freshRoot();
    const store = await storeAt(root);
    await store.update('staging', () => canaryModels(10));
    await rm(join(root, 'staging', 'state.json'));
    await expect(store.read('staging')).rejects.toThrow(
      /the file is missing but .*history\.jsonl holds earlier generations/,
    );
    await expect(store.update('staging', () => canaryModels(1))).rejects.toBeInstanceOf(DesiredStateError);
  });

  it('the poll finds changes fs.watch cannot see: the folder was replaced under the watcher', async () => {
    async function seenAfterReplacing(pollIntervalMs: number): Promise<number[]> {
      const root = await freshRoot();
      const watcher = await storeAt(root, { pollIntervalMs });
      const writer = await storeAt(root);
      const seen: number[] = [];
      const stop = await watcher.watch('staging', (state) => seen.push(state.generation));
      // The watched folder goes (restored from a backup, say); events from its successor never
      // reach the old watch.
      await rm(join(root, 'staging'), { recursive: true });
      await sleep(100);
      await writer.update('staging', () => canaryModels(1));
      await sleep(600);
      await stop();
      return seen;
    }
    expect(await seenAfterReplacing(60_000)).not.toContain(1);
    expect(await seenAfterReplacing(100)).toContain(1);
  });
});
