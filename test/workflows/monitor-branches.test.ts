/**
 * FAST tier, stubbed activities: the real MonitorModel on the real dev server, fed scripted live
 * statistics. Undrifted traffic raises nothing; a shifted feature is reported once, naming the
 * feature, with one alert and one retraining request however many looks follow; a refused webhook
 * is recorded and the watch goes on; the monitor ends when its version stops serving or it is
 * cancelled; state survives continue-as-new; and DeployModel starts the monitor at promotion,
 * replacing the one before. The statistics are real tests (`analysis/drift.ts`), only the
 * counters are scripted.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { MonitorReading } from '../../activities/monitoring.ts';
import { type DeploymentRef, monitorWorkflowId } from '../../domain/deployment.ts';
import type { LiveStatistics, ReferenceProfile } from '../../domain/reference-profile.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { defaultMonitoring } from '../../specs/monitoring-defaults.ts';
import type { MonitoringSpec } from '../../specs/monitoring-schema.ts';
import { monitorStatusQuery } from '../../workflows/messages.ts';
import type { MonitorModel, MonitorModelInput } from '../../workflows/monitor-model.ts';
import type { MonitorStatus } from '../../workflows/monitor-status.ts';
import {
  CANDIDATE_VERSION,
  failWith,
  STABLE_VERSION,
  type StubHandler,
  type StubRun,
  type StubScript,
} from '../support/stub-activities.ts';
import {
  deployInput,
  STUB_AUTHOR,
  type StubStack,
  startStubbedDeployment,
  startStubStack,
} from '../support/stub-stack.ts';

let stack: StubStack;

beforeAll(async () => {
  stack = await startStubStack('monitor-branches');
});

afterAll(async () => {
  await stack?.stop();
});

/** One numeric feature in four equal bins, two classes, from 400 holdout rows. */
const PROFILE: ReferenceProfile = {
  schemaVersion: 1,
  holdout: { path: 'models/x/holdout.csv', sha256: 'c'.repeat(64), rows: 400 },
  input: 'input',
  features: [
    {
      kind: 'numeric',
      name: 'petal_length',
      column: 0,
      edges: [1, 2, 3],
      counts: [100, 100, 100, 100],
      missing: 0,
      min: 0,
      max: 4,
      mean: 2,
      std: 1.1,
      quantiles: { p01: 0.04, p25: 1, p50: 2, p75: 3, p99: 3.96 },
    },
  ],
  predictions: { classes: ['0', '1'], counts: [200, 200] },
  labels: { classes: ['0', '1'], counts: [200, 200] },
  metrics: { accuracy: 0.95 },
};

/**
 * Cumulative statistics after `looks` looks of 200 rows each; from look `driftFrom` on, every new
 * row lands in the top bin.
 */
function statisticsAt(version: string, looks: number, driftFrom = Number.POSITIVE_INFINITY): LiveStatistics {
  const quiet = Math.min(looks, driftFrom - 1);
  const drifted = looks - quiet;
  const counts = [quiet * 50, quiet * 50, quiet * 50, quiet * 50 + drifted * 200];
  const rows = looks * 200;
  return {
    model: 'x',
    version,
    bundleDigest: 'd'.repeat(64),
    since: '2026-12-05T00:00:00.000Z',
    requests: rows,
    rows,
    features: [{ name: 'petal_length', counts, missing: 0 }],
    predictions: { classes: ['0', '1'], counts: [rows / 2, rows / 2] },
    quality: { violations: {}, rejectedRequests: 0 },
  };
}

/** Traffic with labels fed back: 100 labelled rows a look, all correct until look `wrongFrom`, then all wrong. */
function labelledTraffic(wrongFrom: number): StubHandler<'readMonitorInputs'> {
  let looks = 0;
  return (input): MonitorReading => {
    looks += 1;
    const labelled = looks * 100;
    const correct = Math.min(looks, wrongFrom - 1) * 100;
    return {
      served: true,
      statistics: statisticsAt(input.version, looks),
      labels: { labelled, correct },
      ...(input.withProfile ? { profile: PROFILE } : {}),
    };
  };
}

/** A readMonitorInputs stub: one more look of traffic per call; `goneAfter` looks, the version is gone. */
function traffic(options: { driftFrom?: number; goneAfter?: number } = {}): StubHandler<'readMonitorInputs'> {
  let looks = 0;
  return (input): MonitorReading => {
    looks += 1;
    if (options.goneAfter !== undefined && looks > options.goneAfter) return { served: false };
    return {
      served: true,
      statistics: statisticsAt(input.version, looks, options.driftFrom),
      ...(input.withProfile ? { profile: PROFILE } : {}),
    };
  };
}

const monitoring = (overrides: Partial<MonitoringSpec> = {}): MonitoringSpec => ({
  ...defaultMonitoring(),
  interval: '100ms',
  intervalMs: 100,
  ...overrides,
});

const WITH_ACTIONS = monitoring({
  actions: {
    rollback: false,
    alert: { url: 'https://hooks.example.com/alert' },
    retraining: {
      url: 'https://api.github.com/repos/acme/models/dispatches',
      format: 'repository_dispatch',
      eventType: 'modelship-retrain',
    },
  },
});

function deploymentOf(model: string): DeploymentRef {
  return {
    model,
    environment: 'production',
    commit: 'c0ffee00'.repeat(5),
    specPath: `specs/${model}.yaml`,
    repository: '/stub/repo',
    author: STUB_AUTHOR,
  };
}

async function startMonitorRun(
  model: string,
  script: StubScript,
  input: Partial<MonitorModelInput> = {},
): Promise<{ handle: WorkflowHandle<typeof MonitorModel>; run: StubRun; firstRunId: string }> {
  const deployment = deploymentOf(model);
  const workflowId = monitorWorkflowId(deployment);
  const run = stack.stubs.run(workflowId, script);
  const handle = await stack.client.workflow.start('MonitorModel', {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [
      {
        deployment,
        version: 'v000000000001',
        bundleDigest: 'd'.repeat(64),
        monitoring: monitoring(),
        ...input,
      },
    ],
  });
  return {
    handle: handle as WorkflowHandle<typeof MonitorModel>,
    run,
    firstRunId: handle.firstExecutionRunId,
  };
}

/**
 * Polls the monitor's status until `test` holds. The limit is generous: at a 100 ms interval 15
 * looks take under two seconds on a quiet machine, but a full `npm test` on two loaded cores once
 * saw 14 looks in 20 s (each look is a timer, an activity and a workflow task on the shared server).
 */
async function waitFor(
  handle: WorkflowHandle<typeof MonitorModel>,
  test: (status: MonitorStatus) => boolean,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.query(monitorStatusQuery);
    if (test(status)) return status;
    if (Date.now() > deadline)
      throw new Error(`monitor did not get there: ${JSON.stringify(status.summary)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.concurrent('MonitorModel (stubbed activities)', () => {
  it('raises nothing on undrifted traffic', async ({ expect }) => {
    const { handle, run } = await startMonitorRun('mon-quiet', { readMonitorInputs: traffic() });
    const status = await waitFor(handle, (s) => (s.summary?.looks ?? 0) >= 15);
    expect(status.state).toBe('watching');
    expect(status.findings).toEqual([]);
    expect(status.summary?.features[0]).toMatchObject({ name: 'petal_length', drifted: false });
    expect(run.inputsOf('sendMonitorAction')).toEqual([]);
    await handle.cancel();
    expect(await handle.result()).toMatchObject({ outcome: 'stopped', findings: [] });
    expect(run.decisions()).toEqual(['monitor.started', 'monitor.ended']);
  });

  it('reports a shifted feature once, by name, with one alert and one retraining request', async ({
    expect,
  }) => {
    const { handle, run } = await startMonitorRun(
      'mon-drift',
      { readMonitorInputs: traffic({ driftFrom: 4 }) },
      { monitoring: WITH_ACTIONS },
    );
    const found = await waitFor(handle, (s) => s.findings.length > 0);
    const first = found.summary?.looks ?? 0;
    expect(first).toBeGreaterThanOrEqual(4);
    // Many more looks of the same drift: nothing is raised or sent twice.
    await waitFor(handle, (s) => (s.summary?.looks ?? 0) >= first + 10);
    const status = await handle.query(monitorStatusQuery);
    expect(status.findings.map((f) => f.key)).toContain('input-drift:petal_length');
    const drift = status.findings.find((f) => f.key === 'input-drift:petal_length');
    expect(drift).toMatchObject({ check: 'input-drift', feature: 'petal_length' });
    expect(drift?.summary).toContain('[3, inf)');
    expect(drift?.value).toBeGreaterThanOrEqual(drift?.threshold ?? Number.POSITIVE_INFINITY);
    const sent = run.inputsOf('sendMonitorAction');
    expect(sent.map((a) => a.kind).sort()).toEqual(['alert', 'retraining']);
    expect(new Set(sent.map((a) => a.idempotencyKey)).size).toBe(2);
    expect(sent.find((a) => a.kind === 'retraining')?.findings.map((f) => f.feature)).toContain(
      'petal_length',
    );
    expect(status.actions.map((a) => `${a.kind} ${a.outcome}`).sort()).toEqual([
      'alert sent',
      'retraining sent',
    ]);
    const decisions = run.decisions();
    expect(decisions.filter((d) => d === 'monitor.finding').length).toBe(status.findings.length);
    expect(decisions.filter((d) => d === 'monitor.action').length).toBe(2);
    await handle.cancel();
  });

  it('records a refused webhook and keeps watching', async ({ expect }) => {
    const { handle, run } = await startMonitorRun(
      'mon-refused',
      {
        readMonitorInputs: traffic({ driftFrom: 2 }),
        sendMonitorAction: failWith(
          'WebhookRefused',
          'the alert webhook at hooks.example.com refused the request with HTTP 403',
        ),
      },
      {
        monitoring: monitoring({
          actions: { rollback: false, alert: { url: 'https://hooks.example.com/alert' } },
        }),
      },
    );
    const status = await waitFor(handle, (s) => s.actions.length > 0);
    expect(status.actions[0]).toMatchObject({ kind: 'alert', outcome: 'refused' });
    expect(status.actions[0]?.detail).toContain('HTTP 403');
    const later = await waitFor(handle, (s) => (s.summary?.looks ?? 0) >= (status.summary?.looks ?? 0) + 3);
    expect(later.state).toBe('watching');
    expect(run.inputsOf('sendMonitorAction')).toHaveLength(1);
    await handle.cancel();
  });

  it('ends when the data plane no longer serves its version', async ({ expect }) => {
    const { handle, run } = await startMonitorRun('mon-gone', {
      readMonitorInputs: traffic({ goneAfter: 3 }),
    });
    const result = await handle.result();
    expect(result.outcome).toBe('version-gone');
    expect(result.summary).toContain('no longer serves version v000000000001');
    expect(run.decisions().at(-1)).toBe('monitor.ended');
  });

  it('says so when the bundle has no reference profile, and keeps reading', async ({ expect }) => {
    const { handle } = await startMonitorRun('mon-noref', {
      readMonitorInputs: (input) => ({ served: true, statistics: statisticsAt(input.version, 1) }),
    });
    const status = await waitFor(handle, (s) => s.noReference !== undefined);
    expect(status.noReference).toContain('carries no reference profile');
    await handle.cancel();
  });

  it('rolls back to the version before when live accuracy falls below its floor, then ends', async ({
    expect,
  }) => {
    const { handle, run } = await startMonitorRun(
      'mon-rollback',
      { readMonitorInputs: labelledTraffic(4) },
      {
        monitoring: monitoring({ actions: { rollback: true } }),
        accuracyFloor: 0.9,
        previous: { version: 'v0000000000aa', bundleDigest: 'a'.repeat(64) },
      },
    );
    const result = await handle.result();
    expect(result.outcome).toBe('rolled-back');
    expect(result.dataPlane).toEqual({ version: 'v000000000001', stable: 'v0000000000aa' });
    expect(result.findings.map((f) => f.key)).toContain('performance:accuracy');
    // The earlier version first, by its bundle; only then the bad one leaves.
    expect(run.dataPlane()).toEqual(['restore v0000000000aa', 'unload v000000000001']);
    expect(run.inputsOf('restoreVersion')[0]).toMatchObject({ bundleDigest: 'a'.repeat(64) });
    expect(run.inputsOf('restoreVersion')[0]?.reason).toContain('below the floor');
    expect(run.decision('monitor.rolled-back')).toMatchObject({
      version: 'v000000000001',
      restored: 'v0000000000aa',
    });
    expect(run.decisions().slice(-3)).toEqual(['monitor.action', 'monitor.rolled-back', 'monitor.ended']);
  });

  it('records a rollback it cannot do, and keeps watching', async ({ expect }) => {
    const cases = [
      { model: 'mon-rollback-first', previous: undefined, why: 'nothing to roll back to' },
      { model: 'mon-rollback-refused', previous: { version: 'v0000000000aa' }, why: 'no longer loaded' },
    ];
    for (const { model, previous, why } of cases) {
      const { handle, run } = await startMonitorRun(
        model,
        {
          readMonitorInputs: labelledTraffic(3),
          restoreVersion: failWith(
            'DataPlaneRejected',
            'cannot restore x v0000000000aa: it is no longer loaded and its bundle digest is unknown',
          ),
        },
        {
          monitoring: monitoring({ actions: { rollback: true } }),
          accuracyFloor: 0.9,
          ...(previous ? { previous } : {}),
        },
      );
      const status = await waitFor(handle, (s) => s.actions.some((a) => a.kind === 'rollback'));
      expect(status.actions.find((a) => a.kind === 'rollback')).toMatchObject({ outcome: 'refused' });
      expect(status.actions.find((a) => a.kind === 'rollback')?.detail).toContain(why);
      const later = await waitFor(handle, (s) => (s.summary?.looks ?? 0) >= (status.summary?.looks ?? 0) + 2);
      expect(later.state).toBe('watching');
      expect(run.dataPlane().filter((line) => line.startsWith('unload'))).toEqual([]);
      await handle.cancel();
    }
  });

  it('carries its tests and findings across continue-as-new', async ({ expect }) => {
    const { handle, firstRunId } = await startMonitorRun(
      'mon-continue',
      { readMonitorInputs: traffic({ driftFrom: 3 }) },
      { looksPerRun: 4 },
    );
    const status = await waitFor(handle, (s) => (s.summary?.looks ?? 0) >= 10);
    const described = await handle.describe();
    expect(described.runId).not.toBe(firstRunId);
    expect(status.findings.filter((f) => f.key === 'input-drift:petal_length')).toHaveLength(1);
    await handle.cancel();
  });
});

describe('DeployModel starts the monitor', () => {
  it('starts one at promotion under monitor/<env>/<model>, and a later promotion replaces it', async ({
    expect,
  }) => {
    const model = 'mon-promote';
    const monitorId = `monitor/staging/${model}`;
    const monitorRun = stack.stubs.run(monitorId, { readMonitorInputs: traffic() });
    const yaml = '  monitoring:\n    interval: 100ms\n';
    const { handle, run } = await startStubbedDeployment(stack, {
      model,
      steps: ['setWeight: 100'],
      monitoring: yaml,
    });
    expect((await handle.result()).outcome).toBe('promoted');
    expect(run.decisions()).toContain('monitor.requested');
    const monitor = stack.client.workflow.getHandle(monitorId);
    const first = (await monitor.describe()).runId;
    expect((await monitor.describe()).status.name).toBe('RUNNING');
    await waitFor(monitor as WorkflowHandle<typeof MonitorModel>, (s) => (s.summary?.looks ?? 0) >= 1);

    // A later run of the same deployment promotes again: the first monitor ends, a new one watches.
    const again = await startDeployment(
      stack.client,
      stack.taskQueue,
      deployInput({ model, steps: ['setWeight: 100'], monitoring: yaml }),
    );
    expect((await again.result()).outcome).toBe('promoted');
    const replaced = await stack.client.workflow.getHandle(monitorId, first).result();
    expect(replaced).toMatchObject({ outcome: 'stopped' });
    expect((await monitor.describe()).runId).not.toBe(first);
    expect(monitorRun.decisions().filter((d) => d === 'monitor.started')).toHaveLength(2);
    // The second monitor knows the version it replaced, for a rollback.
    const payload = (await monitor.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input
      ?.payloads?.[0]?.data;
    const started = JSON.parse(Buffer.from(payload ?? []).toString()) as MonitorModelInput;
    expect(started.previous).toEqual({ version: STABLE_VERSION });
    expect(started.version).toBe(CANDIDATE_VERSION);
    await monitor.cancel();
  });
});
