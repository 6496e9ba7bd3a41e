/** `modelship serve` as a user runs it: a real process, real signals. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.ts';
import { call, infer, irisRequest, makeBundle, scratchDir } from './support.ts';

const BIN = repoPath('bin/modelship.mjs');

/** Starts `modelship serve` and resolves once it has printed `wanted` on stdout. */
function serve(args: string[], wanted: RegExp, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, MODELSHIP_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (wanted.test(stdout)) resolve(/listening on (\S+)/.exec(stdout)?.[1] ?? '');
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, ready, exited, output: () => ({ stdout, stderr }) };
}

describe('modelship serve', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let bundle: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await scratchDir();
    bundle = await makeBundle({ root: dir.path, version: 'v1' });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await dir?.remove();
  });

  it('refuses to start without a token unless --insecure-admin', async () => {
    const failed = await promisify(execFile)(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: { ...process.env, MODELSHIP_ADMIN_TOKEN: '' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/refusing to start: the admin API needs a bearer token/),
    });
  });

  it('loads bundles, serves, and on SIGTERM finishes the request in flight before it exits', async () => {
    const run = serve(['--insecure-admin', '--load', `iris@v1=${bundle}`], /iris version v1 ready/);
    children.push(run.child);
    const url = await run.ready;
    expect(run.output().stdout).toMatch(
      /serve: listening on http:\/\/127\.0\.0\.1:\d+\nserve: admin API is OPEN/,
    );
    expect(
      (await infer(url, 'iris', irisRequest([[5.1, 3.5, 1.4, 0.2]]))).headers.get('x-modelship-version'),
    ).toBe('v1');

    // A request whose body is still arriving when the signal comes is answered all the same.
    const body = JSON.stringify(irisRequest([[5.1, 3.5, 1.4, 0.2]]));
    let req: ReturnType<typeof request> | undefined;
    const reply = new Promise<number>((resolve, reject) => {
      req = request(
        `${url}/v2/models/iris/infer`,
        { method: 'POST', headers: { 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    run.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    req?.end(body.slice(10));
    expect(await reply).toBe(200);
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toMatch(/serve: SIGTERM: draining in-flight requests\nserve: stopped\n$/);
  });

  it('takes the admin token from a file (or $MODELSHIP_ADMIN_TOKEN) and names versions by digest', async () => {
    const tokenFile = join(dir.path, 'token');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(tokenFile, 'file-token-123\n');
    const run = serve(['--admin-token-file', tokenFile, '--load', `iris=${bundle}`], /ready \(stable\)/);
    children.push(run.child);
    const url = await run.ready;
    expect(run.output().stdout).toMatch(/admin API requires its bearer token/);
    expect((await call(`${url}/admin/v1/models`)).status).toBe(401);
    const state = await call(`${url}/admin/v1/models/iris`, {
      headers: { authorization: 'Bearer file-token-123' },
    });
    expect(state.body).toMatchObject({ stable: { version: expect.stringMatching(/^[a-f0-9]{12}$/) } });
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);

    const fromEnv = serve([], /listening on/, { MODELSHIP_ADMIN_TOKEN: 'env-token-456' });
    children.push(fromEnv.child);
    const envUrl = await fromEnv.ready;
    expect(
      (await call(`${envUrl}/admin/v1/models`, { headers: { authorization: 'Bearer env-token-456' } }))
        .status,
    ).toBe(200);
    fromEnv.child.kill('SIGTERM');
    expect(await fromEnv.exited).toBe(0);
  });

  it('loads bundles only from $MODELSHIP_HOME/bundles by default, and takes limits as flags', async () => {
    const home = join(dir.path, 'home');
    const inside = await makeBundle({ root: join(home, 'bundles'), version: 'v1' });
    const run = serve(
      ['--insecure-admin', '--max-body-bytes', '4096', '--body-timeout', '2s'],
      /loads bundles from/,
      {
        MODELSHIP_HOME: home,
      },
    );
    children.push(run.child);
    const url = await run.ready;
    expect(run.output().stdout).toContain(
      `serve: the admin API loads bundles from ${join(home, 'bundles')}\n`,
    );
    const load = (bundlePath: string) =>
      call(`${url}/admin/v1/models/iris/versions`, { body: { version: 'v1', bundlePath } });
    expect((await load(inside)).status).toBe(201);
    expect(await load(bundle)).toMatchObject({
      status: 403,
      body: { error: expect.stringMatching(/is outside the bundle root/) },
    });
    const big = irisRequest(Array.from({ length: 400 }, () => [5.1, 3.5, 1.4, 0.2]));
    expect(await infer(url, 'iris', big)).toMatchObject({
      status: 413,
      body: { error: 'request body is larger than the limit of 4096 bytes (maxBodyBytes)' },
    });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
