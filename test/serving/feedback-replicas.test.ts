/**
 * Ground truth across replicas: an id issued by one server is accepted by another that shares the
 * secret (another instance, a restarted one, a `modelship serve` process), refused by one that
 * does not, and the replicas' counts sum to one report.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetPerformance, labelCountsSource } from '../../activities/live-performance.ts';
import { createAdminClient } from '../../serving/admin-client.ts';
import { PREDICTION_ID_HEADER } from '../../serving/headers.ts';
import { repoPath } from '../support/paths.ts';
import {
  call,
  infer,
  irisRequest,
  makeBundle,
  scratchDir,
  startTestServer,
  type TestServer,
} from './support.ts';

const SECRET = 'one-secret-for-every-replica';
const FEEDBACK = 'label-source-token';
const row = [6.7, 3.0, 5.2, 2.3];

async function predictionId(url: string): Promise<string> {
  const reply = await infer(url, 'iris', irisRequest([row]));
  const id = reply.headers.get(PREDICTION_ID_HEADER);
  expect(id).not.toBeNull();
  return id as string;
}

function label(url: string, id: string, value = 2) {
  return call(`${url}/v2/models/iris/feedback`, {
    body: { labels: [{ prediction_id: id, label: value }] },
    headers: { authorization: `Bearer ${FEEDBACK}` },
  });
}

/** `modelship serve` in its own process; resolves with its URL once v1 is ready. */
async function serveProcess(args: string[], home: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [repoPath('bin/modelship.mjs'), 'serve', '--port', '0', ...args], {
    env: { ...process.env, MODELSHIP_ADMIN_TOKEN: '', MODELSHIP_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/iris version v1 ready/.test(stdout)) resolve(/listening on (\S+)/.exec(stdout)?.[1] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, url };
}

describe('ground truth across replicas', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let v1: string;
  let a: TestServer;
  let b: TestServer;
  const options = { predictionIdSecrets: [SECRET], feedbackToken: FEEDBACK };

  beforeAll(async () => {
    dir = await scratchDir();
    v1 = await makeBundle({ root: dir.path, version: 'v1' });
    a = await startTestServer(options);
    b = await startTestServer(options);
    await a.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath: v1 });
    await b.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath: v1 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await dir?.remove();
  });

  it('accepts on one replica the ids another issued, and the sum over replicas holds both', async () => {
    const fromA = await predictionId(a.url);
    const fromB = await predictionId(b.url);
    expect((await label(b.url, fromA)).body).toMatchObject({ accepted: 1 });
    expect((await label(a.url, fromB, 0)).body).toMatchObject({ accepted: 1 });
    const onA = (await a.admin.performance({ model: 'iris' })).versions[0]?.counts;
    const onB = (await b.admin.performance({ model: 'iris' })).versions[0]?.counts;
    expect(onA).toMatchObject({ labelled: 1, correct: 0 });
    expect(onB).toMatchObject({ labelled: 1, correct: 1 });

    const directory = {
      replicas: async () => ({ reports: [{ url: a.url }, { url: b.url }, { url: null }] }),
    };
    const read = fleetPerformance({ desired: directory, adminToken: 'test-admin-token-0123456789' });
    const summed = await read('production', 'iris');
    // A's label (0, wrong) and B's (2, right) for two predictions of class 2.
    expect(summed.versions[0]?.counts).toMatchObject({
      labelled: 2,
      correct: 1,
      classes: ['0', '2'],
      confusion: [
        [0, 1, 0],
        [0, 1, 0],
        [0, 0, 0],
      ],
    });
    expect(summed.versions[0]?.estimate.rows).toBe(2);
    expect(summed.versions[0]?.accuracy?.value).toBe(0.5);
    // The monitor reads the labels' counts and, beside them, the estimate without labels.
    expect(await labelCountsSource(read)('production', 'iris', 'v1')).toMatchObject({
      labelled: 2,
      correct: 1,
      estimate: { rows: 2 },
    });
    expect(await labelCountsSource(read)('production', 'iris', 'v9')).toBeUndefined();
    // A replica that never served the model adds nothing (its 404 is not an error).
    const none = await fleetPerformance({ desired: directory, adminToken: 'test-admin-token-0123456789' })(
      'production',
      'absent',
    );
    expect(none.versions).toEqual([]);
  });

  it('accepts ids after a restart, refuses versions it does not serve and keys it does not hold', async () => {
    const id = await predictionId(a.url);
    const restarted = await startTestServer(options);
    const stranger = await startTestServer({ ...options, predictionIdSecrets: ['a different secret'] });
    try {
      await restarted.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath: v1 });
      await stranger.admin.loadVersion({ model: 'iris', version: 'v1', bundlePath: v1 });
      expect((await label(stranger.url, id)).body).toMatchObject({ unknown: 1, accepted: 0 });
      expect((await label(restarted.url, id)).body).toMatchObject({ accepted: 1 });

      // A version loaded on A only: B has never served it, so its labels mean nothing there.
      await a.admin.loadVersion({
        model: 'iris',
        version: 'v2',
        bundlePath: await makeBundle({ root: dir.path, version: 'v2' }),
      });
      await a.admin.setCanary({ model: 'iris', version: 'v2', weight: 100 });
      const onV2 = await predictionId(a.url);
      expect((await label(restarted.url, onV2)).body).toMatchObject({ unknown_version: 1 });
      expect((await label(a.url, onV2)).body).toMatchObject({ accepted: 1 });
      await a.admin.clearCanary({ model: 'iris' });
    } finally {
      await restarted.close();
      await stranger.close();
    }
  });

  it('works between `modelship serve` processes given the same key file', async () => {
    const keyFile = join(dir.path, 'prediction.key');
    const tokenFile = join(dir.path, 'feedback.token');
    await writeFile(keyFile, `# rotated in 2030\n${SECRET}\nan-older-secret\n`);
    await writeFile(tokenFile, `${FEEDBACK}\n`);
    const served = await serveProcess(
      [
        '--insecure-admin',
        '--prediction-key-file',
        keyFile,
        '--feedback-token-file',
        tokenFile,
        '--load',
        `iris@v1=${v1}`,
      ],
      dir.path,
    );
    try {
      const fromProcess = await predictionId(served.url);
      expect((await label(served.url, await predictionId(a.url))).body).toMatchObject({ accepted: 1 });
      expect((await label(a.url, fromProcess)).body).toMatchObject({ accepted: 1 });
      const report = await createAdminClient({ baseUrl: served.url, token: undefined }).performance({
        model: 'iris',
      });
      expect(report.versions[0]?.counts.labelled).toBe(1);
      const refused = await call(`${served.url}/v2/models/iris/feedback`, {
        body: { labels: [{ prediction_id: fromProcess, label: 2 }] },
      });
      expect(refused.status).toBe(401);
    } finally {
      served.child.kill('SIGTERM');
      await new Promise((resolve) => served.child.once('exit', resolve));
    }
  });

  it("keeps a single insecure process's key in $MODELSHIP_HOME, so its ids outlive a restart", async () => {
    const home = join(dir.path, 'home');
    await mkdir(home, { recursive: true });
    const tokenFile = join(dir.path, 'feedback-single.token');
    await writeFile(tokenFile, FEEDBACK);
    const args = ['--insecure-admin', '--feedback-token-file', tokenFile, '--load', `iris@v1=${v1}`];
    const stop = async (child: ChildProcess) => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    };
    const first = await serveProcess(args, home);
    let id: string;
    try {
      id = await predictionId(first.url);
    } finally {
      await stop(first.child);
    }
    expect((await stat(join(home, 'keys', 'prediction-id.key'))).mode & 0o777).toBe(0o600);
    const second = await serveProcess(args, home);
    try {
      expect((await label(second.url, id)).body).toMatchObject({ accepted: 1 });
    } finally {
      await stop(second.child);
    }
  });
});
