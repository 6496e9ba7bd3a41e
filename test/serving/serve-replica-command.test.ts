/**
 * `modelship serve --environment` as an operator runs it: a real process following the desired
 * state under its MODELSHIP_HOME, pulling the bundle from the embedded OCI layout and checking
 * its evidence under the worker's public key found there. Killed with SIGKILL (no clean
 * shutdown, nothing remembered in memory), it serves again once restarted, by itself.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileDesiredStateStore } from '../../desired-state/file-store.ts';
import { desiredStateDirFor } from '../../desired-state/open.ts';
import { serveFirstVersion } from '../../desired-state/routing.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/index.ts';
import { repoPath } from '../support/paths.ts';
import { eventually, infer, irisRequest, publishSignedBundle, scratchDir } from './support.ts';

const BIN = repoPath('bin/modelship.mjs');
const key = generateSigningKeyPair();

let home: Awaited<ReturnType<typeof scratchDir>>;
let desired: DesiredStateStore;
const children: ChildProcess[] = [];

/** Starts a replica of staging; resolves with its URL once it says it follows the record. */
function replica(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--port',
      '0',
      '--insecure-admin',
      '--environment',
      'staging',
      '--replica-id',
      'replica-1',
    ],
    {
      env: { ...process.env, MODELSHIP_HOME: home.path, MODELSHIP_ADMIN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /listening on (\S+)/.exec(stdout)?.[1];
      if (url && /replica replica-1 follows the desired state of staging/.test(stdout))
        resolve({ child, url });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}${stderr}`)));
  });
}

const answers = async (url: string) => (await infer(url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status;

beforeAll(async () => {
  home = await scratchDir();
  // The worker's evidence key lives in the same home on one machine: serve trusts its public half.
  await mkdir(join(home.path, 'keys'), { recursive: true });
  await writeFile(join(home.path, 'keys', 'evidence.pub'), key.publicKeyPem);
  const bundle = await publishSignedBundle({
    home: home.path,
    environment: 'staging',
    version: 'v1',
    privateKeyPem: key.privateKeyPem,
  });
  desired = await openFileDesiredStateStore(desiredStateDirFor(home.path));
  await desired.update('staging', (models) => serveFirstVersion(models, 'iris', { version: 'v1', bundle }));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await desired?.close();
  await home?.remove();
});

describe('modelship serve --environment', () => {
  it('serves the desired state, and again after SIGKILL and a restart, reporting what it serves', async () => {
    const first = await replica();
    await eventually(async () => (await answers(first.url)) === 200, 20_000);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await replica();
    await eventually(async () => (await answers(second.url)) === 200, 20_000);
    // It answers once the version is warm; its report follows once the whole routing is assigned.
    await eventually(
      async () => (await desired.replicas('staging')).reports[0]?.status === 'converged',
      10_000,
    );
    const { reports } = await desired.replicas('staging');
    expect(reports).toMatchObject([
      { replica: 'replica-1', status: 'converged', serving: 1, url: second.url },
    ]);

    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
    // A clean stop leaves the reports: no rollout waits for a replica that said goodbye.
    expect((await desired.replicas('staging')).reports).toEqual([]);
  });

  it('refuses --load beside --environment', async () => {
    const failed = await promisify(execFile)(
      process.execPath,
      [BIN, 'serve', '--insecure-admin', '--environment', 'staging', '--load', 'iris=/tmp/x'],
      { env: { ...process.env, MODELSHIP_HOME: home.path } },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({
      stderr: expect.stringMatching(/--load and --environment exclude each other/),
    });
  });
});
