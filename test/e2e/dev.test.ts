/**
 * `npm start` as a newcomer runs it: `modelship dev` starts its own Temporal dev server with a
 * database under MODELSHIP_HOME, a worker, and deploys the example specs; then the audit log it
 * left verifies, and stops verifying once a record is edited.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../worker/dev-server.ts';
import { repoPath } from '../support/paths.ts';

const BIN = repoPath('bin/modelship.mjs');
let home: string;

function modelship(args: string[], timeout = 120_000) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, MODELSHIP_HOME: home },
    encoding: 'utf8',
    timeout,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'modelship-dev-'));
});

afterAll(() => rm(home, { recursive: true, force: true }));

describe('modelship dev (npm start)', () => {
  it('deploys the example specs on its own dev server and leaves a verifiable audit log', async () => {
    const [port, uiPort, servePort] = [await freePort(), await freePort(), await freePort()];
    const run = modelship([
      'dev',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--serve-port',
      String(servePort),
      '--once',
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Temporal Web UI at http://127.0.0.1:${uiPort}`);
    expect(run.stdout).toContain(`data plane (KServe V2) at http://127.0.0.1:${servePort}/v2`);
    expect(run.stdout).toMatch(/serving: iris@staging serving version [0-9a-f]{12} to all traffic/);
    expect(run.stdout).toMatch(
      /serving: breast-cancer@production serving version [0-9a-f]{12} to all traffic/,
    );

    const verify = modelship(['audit', 'verify']);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/audit verify: ok, \d+ records/);

    const show = modelship(['audit', 'show', 'iris']);
    expect(show.stdout).toContain('validateModel');
    expect(show.stdout).toContain('loadIntoDataPlane');
    expect(show.stdout).toContain('deployment.serving');

    // Edit one record the way someone with file access would, bypassing the append-only trigger.
    const db = new sqlite.Database(join(home, 'audit.db'), { fileMustExist: true });
    db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 5");
    db.close();
    const tampered = modelship(['audit', 'verify']);
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toContain('record 5: hash does not match its content');
  });

  it('keeps running until Ctrl-C, then stops the dev server and data plane it started', async () => {
    const [port, uiPort, servePort] = [await freePort(), await freePort(), await freePort()];
    const args = [
      'dev',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--serve-port',
      String(servePort),
    ];
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, MODELSHIP_HOME: home },
    });
    let stdout = '';
    const running = new Promise<void>((resolveRunning) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('press Ctrl-C to stop')) resolveRunning();
      });
    });
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    await running;
    expect(await portAnswers(port)).toBe(true);
    // While it runs, the data plane serves the example model to anyone over KServe V2, and the
    // trickle of traffic shows in its metrics.
    const live = await fetch(`http://127.0.0.1:${servePort}/v2/models/iris/ready`);
    expect(live.status).toBe(200);
    expect(stdout).toMatch(/sending 10 req\/s of holdout rows to (breast-cancer, iris|iris, breast-cancer)/);
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_500));
    const metrics = await (await fetch(`http://127.0.0.1:${servePort}/metrics`)).text();
    const served = /modelship_requests_total\{model="iris",version="[0-9a-f]{12}"\} (\d+)/.exec(metrics);
    expect(Number(served?.[1])).toBeGreaterThan(5);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('dev: stopping');
    expect(await portAnswers(port)).toBe(false);
    expect(await portAnswers(servePort)).toBe(false);
  });
});

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.once('error', () => resolveAnswer(false));
  });
}
