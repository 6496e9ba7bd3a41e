/**
 * `npm start` as a newcomer runs it: `modelship dev` starts its own Temporal dev server with a
 * database under MODELSHIP_HOME, the data plane and a worker; iris v1 serves, and the iris v2
 * rollout reaches its approval step within two minutes, where an `approve` update sent as the Web
 * UI sends it promotes it. A signal a process manager sends to npm stops the whole stack with
 * nothing left running, also during start-up and also when npm dies without forwarding it. With
 * `--once` on the examples, the audit log it left verifies, and stops verifying once a record is
 * edited.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import sqlite from 'node-sqlite3-wasm';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../worker/dev-server.ts';
import { REPO_ROOT, repoPath } from '../support/paths.ts';
import { sharedWorkflowBundlePath } from '../support/workflow-bundle.ts';

const BIN = repoPath('bin/modelship.mjs');
// The run's one workflow bundle: `npm start` here loads it instead of bundling again (the
// `--once` journey below bundles, as a fresh clone does).
const WORKFLOW_BUNDLE = await sharedWorkflowBundlePath();
const homes: string[] = [];

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'modelship-dev-'));
  homes.push(home);
  return home;
}

afterAll(() => Promise.all(homes.map((home) => rm(home, { recursive: true, force: true }))));

function modelship(home: string, args: string[], timeout = 120_000) {
  // No prebuilt bundle here: `--once` bundles the workflows itself, as a fresh `npm start` does.
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, MODELSHIP_HOME: home },
    encoding: 'utf8',
    timeout,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function ports(): Promise<{ port: number; uiPort: number; servePort: number; args: string[] }> {
  const [port, uiPort, servePort] = [await freePort(), await freePort(), await freePort()];
  return {
    port,
    uiPort,
    servePort,
    args: ['--port', String(port), '--ui-port', String(uiPort), '--serve-port', String(servePort)],
  };
}

/** A running `npm start` or `node bin/modelship.mjs dev`, its output, and its exit. */
interface Dev {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  /** Resolves when stdout matches; rejects if the process exits first or after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDev(how: 'npm' | 'node', home: string, args: string[]): Dev {
  const child =
    how === 'npm'
      ? spawn('npm', ['start', '--', ...args], {
          cwd: REPO_ROOT,
          env: { ...process.env, MODELSHIP_HOME: home, MODELSHIP_WORKFLOW_BUNDLE: WORKFLOW_BUNDLE },
        })
      : spawn(process.execPath, [BIN, 'dev', ...args], {
          env: { ...process.env, MODELSHIP_HOME: home, MODELSHIP_WORKFLOW_BUNDLE: WORKFLOW_BUNDLE },
        });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.on('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<void>((resolveWait, rejectWait) => {
      const check = () => {
        if (!pattern.test(stdout)) return;
        done();
        resolveWait();
      };
      const timer = setTimeout(() => {
        done();
        rejectWait(new Error(`no ${pattern} within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
      }, timeoutMs);
      void exited.then(() => {
        done();
        rejectWait(new Error(`exited before ${pattern}:\n${stdout}\n${stderr}`));
      });
      function done() {
        clearTimeout(timer);
        listeners.delete(check);
      }
      listeners.add(check);
      check();
    });
  return { child, stdout: () => stdout, waitFor, exited };
}

/** Every process below `pid` now, from /proc (Linux). */
function descendants(pid: number): { pid: number; command: string }[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: { pid: number; command: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift() as number) ?? []) {
      let command = '?';
      try {
        command = readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      } catch {}
      found.push({ pid: child, command });
      queue.push(child);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `pids` runs; returns those still running after `timeoutMs`. */
async function gone(pids: { pid: number; command: string }[], timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(({ pid }) => alive(pid));
    if (left.length === 0 || Date.now() > deadline)
      return left.map(({ pid, command }) => `${pid} ${command}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

describe('modelship dev (npm start)', () => {
  it('npm start: a rollout waits for approval within 2 minutes, approve promotes it, SIGTERM to npm stops everything', async () => {
    const home = await newHome();
    const { port, uiPort, servePort, args } = await ports();
    const startedAt = Date.now();
    const dev = startDev('npm', home, args);
    await dev.waitFor(/press Ctrl-C to stop/);
    expect(dev.stdout()).toContain(`Temporal Web UI at http://127.0.0.1:${uiPort}`);
    expect(dev.stdout()).toMatch(/serving: iris@dev serving version [0-9a-f]{12} to all traffic/);
    expect(dev.stdout()).toContain('sending 100 req/s of holdout rows to iris');
    // Deployed the GitOps way: committed to dev's repository, applied, reconciled on a schedule.
    expect(dev.stdout()).toMatch(
      /dev: apply: iris@dev: started deploy\/dev\/iris for specs\/iris-dev\.yaml@[0-9a-f]+/,
    );
    expect(dev.stdout()).toContain('dev: reconciling dev every 30 s (Temporal Schedule reconcile/dev)');
    const live = await fetch(`http://127.0.0.1:${servePort}/v2/models/iris/ready`);
    expect(live.status).toBe(200);

    // The v2 rollout: shadow, canary, analysis, then it waits, and says how to approve.
    await dev.waitFor(
      /iris@dev: step 4: waiting until \S+ for an approval by alice/,
      120_000 - (Date.now() - startedAt),
    );
    const toApproval = Date.now() - startedAt;
    expect(toApproval).toBeLessThan(120_000);
    console.log(`dev.test: npm start to awaiting-approval in ${(toApproval / 1000).toFixed(1)} s`);
    expect(dev.stdout()).toMatch(/iris@dev: step 1\/5 \(shadow 5s \(agreement ≥ 0\.95\)\): pass: /);
    expect(dev.stdout()).toMatch(/iris@dev: step 3\/5 \(analysis 20s\): pass: /);
    // The lines after it come in the same breath, maybe in the next chunk of output.
    await dev.waitFor(
      /iris@dev: {3}as alice: npx modelship approve iris --env dev --as alice \(or in the Web UI: More Actions → Send an Update, name approve, Data \{"approver":"alice","decision":"approve"\}\)/,
      5_000,
    );
    await dev.waitFor(
      new RegExp(
        `iris@dev: {3}open http://127\\.0\\.0\\.1:${uiPort}/namespaces/default/workflows/deploy%2Fdev%2Firis/\\S+/history`,
      ),
      5_000,
    );

    // What the Web UI's "Send an Update" does: an update named `approve` with that JSON input.
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const client = new Client({ connection });
      await client.workflow
        .getHandle('deploy/dev/iris')
        .executeUpdate('approve', { args: [{ approver: 'alice', decision: 'approve' }] });
    } finally {
      await connection.close();
    }
    await dev.waitFor(/dev: promoted: iris@dev promoted version [0-9a-f]{12} \(was [0-9a-f]{12}\)/, 60_000);

    const npmPid = dev.child.pid as number;
    const stack = descendants(npmPid);
    expect(stack.map(({ command }) => command).join('\n')).toMatch(/temporal server start-dev/);
    expect(stack.map(({ command }) => command).join('\n')).toMatch(/modelship\.mjs serve/);
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(dev.stdout()).toContain('dev: stopping (SIGTERM)');
    expect(await gone(stack)).toEqual([]);
    expect(await portAnswers(port)).toBe(false);
    expect(await portAnswers(servePort)).toBe(false);

    // The data plane followed the dev environment's durable desired state: started again on its
    // own, with nothing else running, it serves the promoted version with no one telling it to.
    const promoted = /promoted version ([0-9a-f]{12})/.exec(dev.stdout())?.[1];
    const serve = spawn(
      process.execPath,
      [
        repoPath('bin/modelship.mjs'),
        'serve',
        '--port',
        String(servePort),
        '--insecure-admin',
        '--environment',
        'dev',
      ],
      { env: { ...process.env, MODELSHIP_HOME: home, MODELSHIP_ADMIN_TOKEN: '' }, stdio: 'ignore' },
    );
    try {
      await vi.waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${servePort}/v2/models/iris/infer`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
            }),
          });
          expect(response.status).toBe(200);
          expect(response.headers.get('x-modelship-version')).toBe(promoted);
        },
        { timeout: 20_000, interval: 100 },
      );
    } finally {
      serve.kill('SIGKILL');
    }
  }, 220_000);

  // SIGTERM to npm (forwarded to node) is the journey above. Left: a stop during start-up, and
  // npm dying of SIGHUP without forwarding it, so that dev must notice its parent went. A signal
  // to node itself takes the journey's path: SIGINT, SIGTERM and SIGHUP share one handler
  // (`test/cli/stop-requests.test.ts` sends each of them to it).
  it('SIGHUP to npm during start-up stops the whole stack: dev notices its parent went', async () => {
    const home = await newHome();
    const { port, servePort, args } = await ports();
    const dev = startDev('npm', home, args);
    // The dev server and the data plane are up, the worker not yet: the middle of start-up.
    await dev.waitFor(/bundling workflows/, 60_000);
    const npmPid = dev.child.pid as number;
    const stack = descendants(npmPid);
    expect(stack.find(({ command }) => command.includes('bin/modelship.mjs dev'))).toBeDefined();
    expect(stack.map(({ command }) => command).join('\n')).toMatch(/temporal server start-dev/);
    expect(stack.map(({ command }) => command).join('\n')).toMatch(/modelship\.mjs serve/);
    process.kill(npmPid, 'SIGHUP');
    expect(await gone([{ pid: npmPid, command: 'npm' }, ...stack])).toEqual([]);
    // npm is gone at once; dev, still writing to the same output, says why it stopped.
    await vi.waitFor(() => expect(dev.stdout()).toContain('dev: stopping (parent process exited)'), {
      timeout: 5_000,
    });
    expect(await portAnswers(port)).toBe(false);
    expect(await portAnswers(servePort)).toBe(false);
  }, 90_000);

  it('with --once deploys the example specs and leaves a verifiable audit log', async () => {
    const home = await newHome();
    const { uiPort, servePort, args } = await ports();
    const run = modelship(home, ['dev', ...args, '--specs', repoPath('specs/examples'), '--once']);
    // The refusal below is the run's outcome, not a software failure: nothing on stderr.
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Temporal Web UI at http://127.0.0.1:${uiPort}`);
    expect(run.stdout).toContain(`data plane (KServe V2) at http://127.0.0.1:${servePort}/v2`);
    expect(run.stdout).toMatch(/serving: iris@staging serving version [0-9a-f]{12} to all traffic/);
    // Production takes only deployments whose origin is proven (an OIDC token, as apply in GitHub
    // Actions presents): dev has none, so the production example is refused before it is read.
    expect(run.stdout).toContain(
      'rejected: breast-cancer@production rejected at resolving: production accepts only deployments with an authenticated origin',
    );

    const verify = modelship(home, ['audit', 'verify']);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/audit verify: ok, \d+ records/);

    const show = modelship(home, ['audit', 'show', 'iris']);
    expect(show.stdout).toContain('validateModel');
    expect(show.stdout).toContain('loadIntoDataPlane');
    expect(show.stdout).toContain('deployment.serving');

    // Edit one record the way someone with file access would, bypassing the append-only trigger.
    const db = new sqlite.Database(join(home, 'audit.db'), { fileMustExist: true });
    db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 5");
    db.close();
    const tampered = modelship(home, ['audit', 'verify']);
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toContain('record 5: hash does not match its content');
  }, 180_000);
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
