/** `modelship serve --no-monitoring`: a real process, with and without the flag. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.ts';
import { irisProfile } from './live-statistics-support.ts';
import { call, infer, irisRequest, makeBundle, scratchDir } from './support.ts';

/** Runs `modelship serve` with `args` until `use` is done with its URL. */
async function withServe(args: string[], bundle: string, use: (url: string) => Promise<void>) {
  const child = spawn(
    process.execPath,
    [
      repoPath('bin/modelship.mjs'),
      'serve',
      '--port',
      '0',
      '--insecure-admin',
      '--load',
      `iris@v1=${bundle}`,
      ...args,
    ],
    { env: { ...process.env, MODELSHIP_ADMIN_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/iris version v1 ready/.test(stdout)) resolve(/listening on (\S+)/.exec(stdout)?.[1] ?? '');
      });
      void exited.then(() => reject(new Error(`serve exited: ${stderr}`)));
    });
    await use(url);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('modelship serve and monitoring', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let bundle: string;

  beforeAll(async () => {
    dir = await scratchDir();
    bundle = await makeBundle({ root: dir.path, version: 'v1', profile: await irisProfile() });
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('counts live statistics by default', async () => {
    await withServe([], bundle, async (url) => {
      expect((await infer(url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status).toBe(200);
      const reply = await call(`${url}/admin/v1/models/iris/statistics`);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ model: 'iris', versions: [{ version: 'v1', rows: 1 }] });
    });
  });

  it('counts nothing with --no-monitoring, and still serves', async () => {
    await withServe(['--no-monitoring'], bundle, async (url) => {
      expect((await infer(url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).status).toBe(200);
      const reply = await call(`${url}/admin/v1/models/iris/statistics`);
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: 'monitoring is disabled on this server' });
      expect((await call(`${url}/metrics`)).text).not.toContain('modelship_feature_rows_total');
    });
  });
});
