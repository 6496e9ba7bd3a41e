/**
 * Durability (issue 4, item 6): the Temporal dev server is stopped in the middle of a rollout's
 * `pause` step and started again on the same port and SQLite database file. The rollout must
 * resume where it was (the pause's durable timer fires after the restart) and finish, with the
 * same worker process reconnecting by itself. Real parts only: own dev server, a worker child
 * process, a real data plane and real traffic.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditPathFor } from '../../audit/open.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { startDevServer } from '../../worker/dev-server.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { RolloutStageKey } from '../../workflows/search-attributes.ts';
import {
  connectTestClient,
  historyOf,
  proposeIrisV2,
  sleep,
  stageOf,
  startLoggedDataPlane,
  startWorker,
  steadyTraffic,
  Teardown,
  tempHome,
  waitFor,
} from '../durability/harness.ts';
import { sharedWorkflowBundlePath } from '../support/workflow-bundle.ts';

const teardown = new Teardown();
afterAll(() => teardown.run());

const MODEL = 'iris-restarted';
const DOWNTIME_MS = 2_500;

describe('durability: the Temporal server restarts mid-rollout', () => {
  it('the rollout resumes from the database file and completes; the worker reconnects', async () => {
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const mark = (label: string) => {
      timings[label] = Date.now() - t0;
    };

    const home = await tempHome(teardown, 'modelship-restart-');
    const dbFile = join(home, 'temporal', 'dev.db');
    const logFile = join(home, 'temporal.log');
    const [firstServer, dataPlane, bundlePath] = await Promise.all([
      startDevServer({ dbFile, logFile, startTimeoutMs: 90_000 }).then((started) => {
        teardown.add('stop the first dev server', () => started.stop());
        return started;
      }),
      startLoggedDataPlane(teardown),
      sharedWorkflowBundlePath(),
    ]);
    const taskQueue = `durability-restart-${process.pid}`;
    const worker = startWorker(teardown, {
      address: firstServer.address,
      taskQueue,
      home,
      dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
      bundlePath,
      identity: 'worker-1',
    });
    const client = await connectTestClient(teardown, firstServer.address);
    await worker.running();
    mark('worker running');

    const { handle } = await proposeIrisV2(teardown, client, taskQueue, MODEL, [
      'setWeight: 30',
      'pause: { duration: 6s }',
      'setWeight: 100',
    ]);
    // No step of this rollout judges traffic (weights and a pause): a light load keeps the data
    // plane serving through it without spending the machine's CPU on evidence nobody reads.
    steadyTraffic(teardown, dataPlane.url, MODEL, 50);
    // Paused for real: the status says so and the pause's durable timer is in the history (the
    // stage changes first; the timer starts once the stage's audit record is written).
    const timerStarted = await waitFor(
      'the pause step and its timer',
      async () => {
        if ((await stageOf(handle)) !== 'paused') return undefined;
        const timers = (await historyOf(handle)).filter((e) => e.type === 'EVENT_TYPE_TIMER_STARTED');
        return timers.length > 0 ? timers : undefined;
      },
      60_000,
    );
    expect(timerStarted).toHaveLength(1);
    const runId = (await handle.describe()).runId;
    mark('paused');

    await firstServer.stop();
    const stoppedAt = Date.now();
    mark('server stopped');
    // Down long enough that the worker's polls fail and back off, short enough that the pause's
    // timer is still pending when the server comes back.
    await sleep(DOWNTIME_MS);
    expect(worker.child.exitCode).toBeNull();
    const server = await startDevServer({ port: firstServer.port, dbFile, logFile, startTimeoutMs: 90_000 });
    teardown.add('stop the restarted dev server', () => server.stop());
    const restartedAt = Date.now();
    mark('server restarted');
    expect(server.address).toBe(firstServer.address);

    const result = await waitFor(
      'the rollout to finish after the restart',
      () => handle.result(),
      45_000,
      () => `worker events ${JSON.stringify(worker.events)}\n${worker.output()}`,
    );
    mark('rollout finished');
    expect(result.outcome, result.summary).toBe('promoted');
    expect((await handle.describe()).runId).toBe(runId);
    expect((await handle.query(statusQuery)).stage).toBe('promoted');
    // The custom search attributes survived the restart (re-registered by the same flags on an
    // existing database) and were kept current after it.
    expect((await handle.describe()).typedSearchAttributes.get(RolloutStageKey)).toBe('promoted');

    // The worker process that was polling before the restart is the one that finished the run.
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.signalCode).toBeNull();

    const history = await historyOf(handle);
    // The pause's timer (the post-promotion window is another one, started after it).
    const pauseTimer = timerStarted[0]?.event.timerStartedEventAttributes?.timerId;
    const fired = history.filter(
      (e) => e.type === 'EVENT_TYPE_TIMER_FIRED' && e.event.timerFiredEventAttributes?.timerId === pauseTimer,
    );
    expect(fired).toHaveLength(1);
    // The pause's timer was started before the server stopped and fired after it was back.
    expect(timerStarted[0]?.timeMs).toBeLessThan(stoppedAt);
    expect(fired[0]?.timeMs).toBeGreaterThanOrEqual(restartedAt - 1_000);

    const audit = await openSqliteAuditStore(auditPathFor(home), { mustExist: true });
    teardown.add('close the audit store', () => audit.close());
    const records = (await audit.list({ workflowId: handle.workflowId })).filter((r) => r.runId === runId);
    const stages = records
      .filter((r) => r.step === 'stage.entered')
      .map((r) => (r.details as { stage: string }).stage);
    expect(stages).toEqual([
      'resolving',
      'scanning',
      'validating',
      'packaging',
      'loading',
      'canary',
      'paused',
      'canary',
      'promoting',
      'promoted',
    ]);
    const activities = records.filter((r) => r.kind.startsWith('activity.'));
    expect(activities.every((r) => r.attempt === 1 && r.actor === 'worker:worker-1')).toBe(true);
    expect(activities.filter((r) => r.kind === 'activity.failed')).toEqual([]);

    const final = await waitFor(
      'the previous stable to drain and unload',
      async () => {
        const state = await dataPlane.state(MODEL);
        return state.loaded.length === 1 ? state : undefined;
      },
      10_000,
    );
    expect(final.stable?.version).toBe(result.dataPlane?.version);
    expect(final.canary).toBeNull();

    mark('checked');
    console.info(
      `durability (server restart) timings in ms: ${JSON.stringify(timings)}; worker states ${JSON.stringify(
        worker.events.map((e) => [e.event, e.state, e.at - t0]),
      )}`,
    );
  }, 120_000);
});
