/**
 * A waiting `apply` whose Temporal server goes away says what it knows, the last stage it saw,
 * and that the connection was lost, instead of calling the rollout failed. Own dev server (it is
 * stopped mid-rollout), a worker child process and a real data plane, as in the durability tests;
 * `followRun` and `lostConnectionLine` are what `apply`, `deploy` and `dev` wait with.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followRun, lostConnectionLine } from '../../gitops/follow-run.ts';
import { startDevServer } from '../../worker/dev-server.ts';
import {
  connectTestClient,
  proposeIrisV2,
  startLoggedDataPlane,
  startWorker,
  steadyTraffic,
  Teardown,
  tempHome,
} from '../durability/harness.ts';
import { sharedWorkflowBundlePath } from '../support/workflow-bundle.ts';

const teardown = new Teardown();
afterAll(() => teardown.run());

describe('apply loses its Temporal server while it waits', () => {
  it('reports the last stage it saw and the lost connection, not a failure', async () => {
    const home = await tempHome(teardown, 'modelship-lost-');
    const [server, dataPlane, bundlePath] = await Promise.all([
      startDevServer({
        dbFile: join(home, 'dev.db'),
        logFile: join(home, 'temporal.log'),
        startTimeoutMs: 90_000,
      }).then((started) => {
        teardown.add('stop the dev server', () => started.stop());
        return started;
      }),
      startLoggedDataPlane(teardown),
      sharedWorkflowBundlePath(),
    ]);
    const taskQueue = `lost-connection-${process.pid}`;
    const worker = startWorker(teardown, {
      address: server.address,
      taskQueue,
      home,
      dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
      bundlePath,
      identity: 'worker-lost',
    });
    const client = await connectTestClient(teardown, server.address);
    await worker.running();
    const { handle } = await proposeIrisV2(teardown, client, taskQueue, 'iris-lost', [
      'setWeight: 30',
      'pause: { duration: 10m }',
      'setWeight: 100',
    ]);
    // No step of this rollout judges traffic (weights and a pause): a light load keeps the data
    // plane serving through it without spending the machine's CPU on evidence nobody reads.
    steadyTraffic(teardown, dataPlane.url, 'iris-lost', 50);

    const lines: string[] = [];
    let stoppedAt = 0;
    const following = followRun({
      handle,
      where: 'apply: iris-lost@staging',
      say: (line) => {
        lines.push(line);
        if (line.endsWith(': paused: step 2/3 (pause 10m)')) {
          stoppedAt = Date.now();
          void server.stop();
        }
      },
      pollMs: 200,
      lostAfterMs: 3_000,
    });
    const end = await following;
    const noticedAfterMs = Date.now() - stoppedAt;
    console.log(
      `apply-lost-connection: the lost connection was reported ${noticedAfterMs} ms after the server stopped`,
    );
    expect(noticedAfterMs).toBeLessThan(30_000);
    expect(lines).toContain('apply: iris-lost@staging: paused: step 2/3 (pause 10m)');
    expect(end.kind).toBe('lost');
    if (end.kind !== 'lost') return;
    expect(end.lastSeen?.stage).toBe('paused');
    const line = lostConnectionLine('apply', 'iris-lost@staging', handle.workflowId, end);
    expect(line).toMatch(
      /^apply: iris-lost@staging: lost the connection to Temporal while waiting for deploy\/staging\/iris-lost \(.+\); last seen at stage paused; the run itself is not affected/,
    );
    expect(line).not.toMatch(/failed:/);
  }, 180_000);
});
