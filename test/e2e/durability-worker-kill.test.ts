/**
 * Durability (issue 4, item 6): the worker process is SIGKILLed in the middle of a canary's
 * analysis and a new worker process takes over. Real parts only: the run's Temporal dev server,
 * worker child processes sharing one MODELSHIP_HOME (artifacts, bundles, the SQLite audit log),
 * a real data plane and real traffic.
 *
 * What must hold: the rollout finishes (promoted); no step that had completed is done again
 * (every activity but the interrupted watch ran exactly once, the workflow's own decisions were
 * not re-recorded on replay); the interrupted watch shows in the audit as attempt 1 by the dead
 * worker and attempt 2 by the new one, and attempt 2 resumed the window attempt 1 heartbeated;
 * the data plane's routing went through each change exactly once and ended with v2 stable.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { WatchCandidateResult, WatchStart } from '../../activities/monitor.ts';
import { auditPathFor } from '../../audit/open.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { statusQuery } from '../../workflows/messages.ts';
import {
  connectTestClient,
  decodeFirst,
  historyOf,
  pendingActivities,
  proposeIrisV2,
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

const MODEL = 'iris-killed';

function activityRecords(records: AuditRecord[], step: string) {
  return records.filter((record) => record.step === step && record.kind.startsWith('activity.'));
}

describe('durability: the worker dies mid-canary', () => {
  it('a new worker process finishes the rollout; nothing that completed runs again', async () => {
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const mark = (label: string) => {
      timings[label] = Date.now() - t0;
    };

    const home = await tempHome(teardown, 'modelship-kill-');
    // The run's shared dev server: only workers die here, and the server's own restart is
    // `durability-server-restart`'s. The task queue is this file's alone.
    const server = { address: inject('temporalAddress') };
    const [dataPlane, bundlePath] = await Promise.all([
      startLoggedDataPlane(teardown),
      sharedWorkflowBundlePath(),
    ]);
    const taskQueue = `durability-kill-${process.pid}`;
    const workerConfig = (identity: string) => ({
      address: server.address,
      taskQueue,
      home,
      dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
      bundlePath,
      identity,
    });
    const first = startWorker(teardown, workerConfig('worker-1'));
    const client = await connectTestClient(teardown, server.address);
    await first.running();
    mark('worker 1 running');

    const { handle } = await proposeIrisV2(
      teardown,
      client,
      taskQueue,
      MODEL,
      ['setWeight: 50', 'analysis: { duration: 8s, interval: 500ms }', 'setWeight: 100'],
      // The judge passes on evidence only: a clean candidate's own rates shown small (errors
      // below minEffect × max = 5 %, requests over 250ms below 1 %) take several hundred requests.
      '  analysis:\n    minRequests: 50\n    minEffect: 1\n    errorRate: { max: 0.05 }\n    latencyP99: { max: 250ms }\n',
    );
    steadyTraffic(teardown, dataPlane.url, MODEL);
    mark('v2 rollout started');

    // Mid-canary: the status query says `analysis`, and the watch has heartbeated its window's
    // start to the server (so the kill tests the resume, not a fresh start).
    const heartbeated = await waitFor(
      'the analysis watch to heartbeat',
      async () => {
        if ((await stageOf(handle)) !== 'analysis') return undefined;
        const watch = (await pendingActivities(handle)).find((a) => a.activityType === 'watchCandidate');
        return watch?.lastHeartbeatMs !== undefined ? watch : undefined;
      },
      60_000,
      async () => `stage ${await stageOf(handle)}\n${first.output()}`,
    );
    expect(heartbeated.attempt).toBe(1);
    const heartbeatStart = (heartbeated.heartbeatDetails as { start: WatchStart }).start;
    expect(heartbeatStart.startedAtMs).toBeGreaterThan(0);
    const atKill = await dataPlane.state(MODEL);
    const stableV1 = atKill.stable?.version;
    const candidate = atKill.canary?.version;
    expect(atKill.canary?.weight).toBe(50);
    expect(candidate).toBeDefined();

    const auditPath = auditPathFor(home);
    await first.kill();
    const killedAt = Date.now();
    mark('worker 1 killed');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The audit store's `<db>.lock` directory exists only while a statement or transaction runs;
    // the watch writes no audit record while it runs, so a kill here leaves none behind. (A kill
    // inside an append would leave it, and the next worker could not open the log.)
    const lockLeftBehind = existsSync(`${auditPath}.lock`);
    const journalLeftBehind = existsSync(`${auditPath}-journal`);
    expect({ lockLeftBehind, journalLeftBehind }).toEqual({
      lockLeftBehind: false,
      journalLeftBehind: false,
    });

    const second = startWorker(teardown, workerConfig('worker-2'));
    await second.running();
    mark('worker 2 running');

    // The server retries the watch once its heartbeat timeout (20 s) notices the dead worker.
    const result = await handle.result();
    mark('rollout finished');
    expect(result.outcome, result.summary).toBe('promoted');
    expect(result.dataPlane?.version).toBe(candidate);
    const status = await handle.query(statusQuery);
    expect(status.lastVerdict?.verdict.outcome).toBe('pass');

    // --- The audit log, written by both worker processes into the same SQLite file.
    const audit = await openSqliteAuditStore(auditPath, { mustExist: true });
    teardown.add('close the audit store', () => audit.close());
    expect((await audit.verify()).ok).toBe(true);
    // v1 and v2 share the workflow id (environment and model); the v2 run is ours.
    const runId = (await handle.describe()).runId;
    const records = (await audit.list({ workflowId: handle.workflowId })).filter((r) => r.runId === runId);

    const load = activityRecords(records, 'loadIntoDataPlane');
    expect(load.map((r) => [r.kind, r.attempt])).toEqual([
      ['activity.started', 1],
      ['activity.completed', 1],
    ]);
    const weights = activityRecords(records, 'setCandidateWeight');
    // Two setWeight steps (50 %, then 100 %), each one activity run once: the 50 % set before the
    // kill was not set again by the new worker.
    expect(weights.map((r) => [r.kind, r.attempt])).toEqual([
      ['activity.started', 1],
      ['activity.completed', 1],
      ['activity.started', 1],
      ['activity.completed', 1],
    ]);
    expect(weights.filter((r) => r.kind === 'activity.completed').map((r) => r.actor)).toEqual([
      'worker:worker-1',
      'worker:worker-2',
    ]);
    const watch = activityRecords(records, 'watchCandidate');
    expect(watch.map((r) => [r.kind, r.attempt, r.actor])).toEqual([
      ['activity.started', 1, 'worker:worker-1'],
      ['activity.started', 2, 'worker:worker-2'],
      ['activity.completed', 2, 'worker:worker-2'],
    ]);
    expect(new Set(watch.map((r) => r.activityId)).size).toBe(1);
    // Every other activity ran once: one start, one completion, attempt 1, nothing failed.
    const byActivity = new Map<string, AuditRecord[]>();
    for (const record of records.filter(
      (r) => r.kind.startsWith('activity.') && r.step !== 'watchCandidate',
    )) {
      byActivity.set(record.activityId ?? '', [...(byActivity.get(record.activityId ?? '') ?? []), record]);
    }
    for (const [activityId, runs] of byActivity) {
      expect(
        runs.map((r) => [r.kind, r.attempt]),
        `activity ${activityId} (${runs[0]?.step})`,
      ).toEqual([
        ['activity.started', 1],
        ['activity.completed', 1],
      ]);
    }
    // Replaying the history on the new worker re-recorded no decision: each stage entered once.
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
      'analysis',
      'canary',
      'promoting',
      'promoted',
    ]);
    expect(records.filter((r) => r.step === 'analysis.pass')).toHaveLength(1);
    expect(records.filter((r) => r.step === 'deployment.promoted')).toHaveLength(1);

    // --- The workflow history: the watch completed on attempt 2, resuming attempt 1's window.
    const history = await historyOf(handle);
    const scheduled = history.filter(
      (e) =>
        e.type === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' &&
        e.event.activityTaskScheduledEventAttributes?.activityType?.name === 'watchCandidate',
    );
    expect(scheduled).toHaveLength(1);
    const started = history.find(
      (e) =>
        e.type === 'EVENT_TYPE_ACTIVITY_TASK_STARTED' &&
        Number(e.event.activityTaskStartedEventAttributes?.scheduledEventId) === scheduled[0]?.id,
    );
    expect(started?.event.activityTaskStartedEventAttributes?.attempt).toBe(2);
    expect(started?.event.activityTaskStartedEventAttributes?.identity).toBe('worker-2');
    const completed = history.find(
      (e) =>
        e.type === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED' &&
        Number(e.event.activityTaskCompletedEventAttributes?.scheduledEventId) === scheduled[0]?.id,
    );
    const watchResult = decodeFirst<WatchCandidateResult>(
      completed?.event.activityTaskCompletedEventAttributes?.result,
    );
    expect(watchResult?.start.startedAtMs).toBe(heartbeatStart.startedAtMs);
    expect(watchResult?.start.startedAtMs).toBeLessThan(killedAt);
    // The window spans the outage: it began before the kill and was judged after the retry.
    expect(watchResult?.elapsedMs).toBeGreaterThan(killedAt - heartbeatStart.startedAtMs);
    expect(watchResult?.verdict.outcome).toBe('pass');

    // --- The data plane: each routing change happened once, and v2 ended up stable alone.
    const final = await waitFor(
      'the previous stable to drain and unload',
      async () => {
        const state = await dataPlane.state(MODEL);
        return state.loaded.length === 1 ? state : undefined;
      },
      10_000,
    );
    expect(final.stable?.version).toBe(candidate);
    expect(final.canary).toBeNull();
    expect(final.shadow).toBeNull();
    expect(final.loaded.map((v) => [v.version, v.state])).toEqual([[candidate, 'ready']]);
    // After the kill: canary to 100 %, promote, retire v1, v1 removed once drained.
    expect(final.generation).toBe(atKill.generation + 4);
    const changes = dataPlane.log.filter((line) => line.startsWith(`${MODEL}: `));
    const count = (text: string) => changes.filter((line) => line.includes(text)).length;
    expect(count(`canary "${candidate}" at 50 %`)).toBe(1);
    expect(count(`canary "${candidate}" at 100 %`)).toBe(1);
    expect(count(`promoted "${candidate}"`)).toBe(1);
    expect(count(`unload "${stableV1}"`)).toBe(1);
    expect(count(`version "${candidate}" ready`)).toBe(1);

    mark('checked');
    console.info(`durability (worker kill) timings in ms: ${JSON.stringify(timings)}`);
  }, 120_000);
});
