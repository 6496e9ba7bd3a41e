/**
 * The Temporal parts of `npm run bench:engine` (`engine.ts` runs them and writes the results):
 * the control overhead of one five-step rollout, many rollouts at once on one worker, and a
 * worker's cold start. Every rollout is a real DeployModel run (a real dev server, a real worker
 * process, a real data plane, a real Git repository); method notes are in `engine.ts`'s header.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { startRetirement } from '../gitops/start-deployment.ts';
import { REPO_ROOT } from '../test/support/paths.ts';
import { spawnWorkerProcess } from '../test/support/worker-process.ts';
import type { DeployModel } from '../workflows/deploy-model.ts';
import { approveUpdate } from '../workflows/messages.ts';
import { createIrisFleet, type IrisFleet, mapLimit } from './lib/iris-deployments.ts';
import { machineBusySeconds, median, waitForQuiet } from './lib/machine.ts';
import { cpuSeconds, peakRssMib, rssMib, sampleRss } from './lib/process-usage.ts';
import { type RolloutTimes, rolloutTimes } from './lib/rollout-history.ts';
import type { TemporalStack } from './lib/temporal-stack.ts';
import { round, summary } from './lib/timing.ts';

/** Five steps, no bake time: no pause, no analysis, no approval between them. */
export const FIVE_WEIGHTS = [20, 40, 60, 80, 100];
const FIVE_STEPS = FIVE_WEIGHTS.map((weight) => `setWeight: ${weight}`);
/** How many `loadDeploymentInput` + start calls run at once (each runs git in a child process). */
const START_LANES = 8;

type DeployHandle = WorkflowHandle<typeof DeployModel>;

async function expectOutcome(handle: DeployHandle, outcome: string): Promise<void> {
  const result = await handle.result();
  if (result.outcome !== outcome) {
    throw new Error(`${handle.workflowId}: expected ${outcome}, got ${result.outcome}: ${result.summary}`);
  }
}

/** Every model of `fleet` serving v1 (a first version serves at once, no rollout). */
async function serveFirstVersions(
  fleet: IrisFleet,
  stack: TemporalStack,
  taskQueue: string,
  steps: string[],
) {
  await fleet.commit('v1', steps);
  const handles = await mapLimit(fleet.models, START_LANES, (model) =>
    fleet.deploy(stack.client, taskQueue, model),
  );
  await Promise.all(handles.map((handle) => expectOutcome(handle, 'serving')));
}

/**
 * Section 1: v1 serving, then v2 rolled out through five `setWeight` steps, one rollout at a
 * time on an otherwise idle worker. The first rollout warms the worker up (its first workflow
 * tasks and activities of each kind) and is not counted.
 */
export async function fiveStepRollout(stack: TemporalStack, repeats: number) {
  const taskQueue = `bench-rollout-${process.pid}`;
  const worker = await stack.startWorker(taskQueue);
  const models = Array.from({ length: repeats + 1 }, (_, index) => `iris-solo-${index}`);
  const fleet = await createIrisFleet(models);
  try {
    await serveFirstVersions(fleet, stack, taskQueue, FIVE_STEPS);
    await fleet.commit('v2', FIVE_STEPS);
    const runs: (RolloutTimes & { endToEndMs: number })[] = [];
    const cpu = cpuMeter(stack, worker.pid);
    for (const model of models) {
      const started = performance.now();
      const handle = await fleet.deploy(stack.client, taskQueue, model);
      await expectOutcome(handle, 'promoted');
      runs.push({ ...(await rolloutTimes(handle, FIVE_WEIGHTS)), endToEndMs: performance.now() - started });
    }
    const cpuShares = cpu.stop();
    const counted = runs.slice(1);
    const overhead = median(counted.map((run) => run.toPromotionMs));
    return {
      steps: FIVE_STEPS,
      runs: counted.length,
      warm_up_runs_excluded: 1,
      control_overhead_ms: round(overhead),
      per_step_ms: round(median(counted.flatMap((run) => run.steps.map((step) => step.ms)))),
      overhead_per_step_ms: round(overhead / FIVE_WEIGHTS.length),
      set_weight_activity_ms: round(
        median(counted.flatMap((run) => run.steps.map((step) => step.scheduleToCloseMs))),
      ),
      promotion_ms: round(median(counted.map((run) => run.promotionMs))),
      before_rollout_ms: round(median(counted.map((run) => run.startMs - run.workflowStartedMs))),
      start_to_promoted_client_ms: round(median(counted.map((run) => run.endToEndMs))),
      control_overhead_runs_ms: counted.map((run) => round(run.toPromotionMs)),
      warm_up_ms: round(runs[0]?.toPromotionMs ?? Number.NaN),
      cpu_cores_used_during_runs: cpuShares,
      target_ms: 1000,
      met: overhead <= 1000,
    };
  } finally {
    await worker.stop();
    await fleet.remove();
  }
}

/** Resolves once `count` runs on `taskQueue` wait at an approval, per the search attribute. */
async function allAwaitingApproval(
  stack: TemporalStack,
  taskQueue: string,
  count: number,
  timeoutMs: number,
) {
  const query = `TaskQueue = "${taskQueue}" AND RolloutStage = "awaiting-approval" AND ExecutionStatus = "Running"`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { count: waiting } = await stack.client.workflow.count(query);
    if (waiting >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${waiting} of ${count} rollouts reached their approval`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
}

/** The most rollouts that were between their first step and their promotion at one moment. */
function peakOverlap(runs: RolloutTimes[]): number {
  const edges = runs.flatMap((run) => [
    { at: run.startMs, delta: 1 },
    { at: run.promotedMs, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const edge of edges) {
    current += edge.delta;
    peak = Math.max(peak, current);
  }
  return peak;
}

/**
 * CPU used from now until `stop`, in cores (1 = one core busy the whole time): by the worker, the
 * dev server, this process (the client and the data plane), and every other process on the
 * machine (from `/proc/stat`). On two cores shared with other work, it says what the rollouts
 * waited for, and how much of the machine was not theirs.
 */
function cpuMeter(stack: TemporalStack, workerPid: number) {
  const serverPid = stack.serverPid ?? Number.NaN;
  const before = {
    worker: cpuSeconds(workerPid),
    server: cpuSeconds(serverPid),
    bench: process.cpuUsage(),
    machine: machineBusySeconds(),
  };
  const started = performance.now();
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const cores = (used: number) => Math.round((used / seconds) * 100) / 100;
      const worker = cpuSeconds(workerPid) - before.worker;
      const server = cpuSeconds(serverPid) - before.server;
      const benchUsage = process.cpuUsage(before.bench);
      const bench = (benchUsage.user + benchUsage.system) / 1e6;
      const machine = machineBusySeconds() - before.machine;
      return {
        worker: cores(worker),
        temporal_server: cores(server),
        client_and_data_plane: cores(bench),
        other_processes: cores(Math.max(0, machine - worker - server - bench)),
      };
    },
  };
}

/**
 * Section 2: `count` deployments on one worker. Each runs its whole pipeline, then waits at an
 * approval placed before the five steps; once all wait, all are approved at the same moment, so
 * the five steps of every rollout run at once, on purpose the worst case, instead of being
 * spread out by the pipelines (validation and packaging) finishing one after the other.
 */
export async function concurrentRollouts(stack: TemporalStack, count: number) {
  const taskQueue = `bench-concurrent-${process.pid}`;
  const worker = await stack.startWorker(taskQueue);
  const idleMib = rssMib(worker.pid);
  const models = Array.from({ length: count }, (_, index) => `iris-fleet-${String(index).padStart(3, '0')}`);
  const steps = ['approval: { approvers: [bench], timeout: 1h }', ...FIVE_STEPS];
  const fleet = await createIrisFleet(models);
  try {
    let phase = performance.now();
    await serveFirstVersions(fleet, stack, taskQueue, steps);
    const firstVersionsMs = performance.now() - phase;
    phase = performance.now();
    await fleet.commit('v2', steps);
    const handles = await mapLimit(models, START_LANES, (model) =>
      fleet.deploy(stack.client, taskQueue, model),
    );
    await allAwaitingApproval(stack, taskQueue, count, 15 * 60_000);
    const pipelinesMs = performance.now() - phase;

    // The pipelines are done; another process's burst would land on the measured steps alone.
    const waitedForQuietMs = await waitForQuiet(30_000);
    const memory = sampleRss(worker.pid);
    const cpu = cpuMeter(stack, worker.pid);
    const loadAtApproval = round(loadavg()[0] ?? Number.NaN);
    phase = performance.now();
    await Promise.all(
      handles.map((handle) =>
        handle.executeUpdate(approveUpdate, { args: [{ approver: 'bench', decision: 'approve' }] }),
      ),
    );
    await Promise.all(handles.map((handle) => expectOutcome(handle, 'promoted')));
    const rolloutsMs = performance.now() - phase;
    const duringRollouts = memory.stop();
    const cpuShares = cpu.stop();

    const runs = await mapLimit(handles, START_LANES, (handle) => rolloutTimes(handle, FIVE_WEIGHTS));
    const allSteps = runs.flatMap((run) => run.steps);
    const stepMs = summary(allSteps.map((step) => step.ms));
    return {
      rollouts: count,
      workers: 1,
      steps,
      peak_concurrent_rollouts: peakOverlap(runs),
      step_latency: stepMs,
      step_parts: {
        workflow_tasks: summary(allSteps.map((step) => step.workflowMs)),
        activities_queued: summary(allSteps.map((step) => step.queuedMs)),
        activities_running: summary(allSteps.map((step) => step.runningMs)),
      },
      set_weight_activity: summary(allSteps.map((step) => step.scheduleToCloseMs)),
      rollout_to_promotion: summary(runs.map((run) => run.toPromotionMs)),
      all_promoted_after_ms: round(rolloutsMs),
      first_versions_serving_ms: round(firstVersionsMs),
      candidates_at_approval_ms: round(pipelinesMs),
      cpu_cores_used_during_rollouts: cpuShares,
      waited_for_quiet_ms: waitedForQuietMs,
      loadavg_1m_at_approval: loadAtApproval,
      worker_rss_mib: {
        idle: round(idleMib),
        peak_during_rollouts: round(duringRollouts.maxMib),
        peak_lifetime: round(peakRssMib(worker.pid)),
      },
      target_step_p99_ms: 2000,
      met: stepMs.p99_ms <= 2000,
    };
  } finally {
    await worker.stop();
    await fleet.remove();
  }
}

type ColdStartMode = 'bundle-on-start' | 'prebuilt-bundle';

/**
 * Starts a worker of `mode` and resolves with the spawn-to-polling time once `polling` is seen;
 * returns how to stop it. `bundle-on-start` is `modelship worker` exactly as an operator runs it
 * (it bundles the workflows at start, the CLI has no option to load a prebuilt bundle);
 * `prebuilt-bundle` is the same worker (`createModelshipWorker`) given the bundle file.
 */
async function spawnColdWorker(
  stack: TemporalStack,
  mode: ColdStartMode,
  taskQueue: string,
  started: number,
) {
  const home = await mkdtemp(join(stack.dir, 'cold-home-'));
  if (mode === 'prebuilt-bundle') {
    const worker = spawnWorkerProcess({
      address: stack.address,
      taskQueue,
      home,
      dataPlane: stack.dataPlane,
      bundlePath: stack.bundlePath,
    });
    await worker.running(120_000);
    return { pollingMs: performance.now() - started, stop: () => worker.stop() };
  }
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/modelship.mjs'), 'worker'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: stack.address,
      MODELSHIP_TASK_QUEUE: taskQueue,
      MODELSHIP_HOME: home,
      MODELSHIP_DATA_PLANE_URL: stack.dataPlane.url,
      MODELSHIP_ADMIN_TOKEN: stack.dataPlane.adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  let output = '';
  const pollingMs = await new Promise<number>((resolvePolling, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      // Printed once the worker is created, right before `run()` starts polling.
      if (output.includes('worker: polling')) resolvePolling(performance.now() - started);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('exit', (code) => reject(new Error(`modelship worker exited with ${code}:\n${output}`)));
  });
  return {
    pollingMs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * One cold start: a short workflow (RetireModel of a model the data plane never had: two audit
 * records and one admin call) is queued on a new task queue first, then the worker is spawned;
 * timed from the spawn to the workflow's result, so the figure ends with the worker having done
 * real work, not with it merely saying it polls.
 */
async function coldStartOnce(stack: TemporalStack, mode: ColdStartMode, run: number) {
  const taskQueue = `bench-cold-${mode}-${process.pid}-${run}`;
  const handle = await startRetirement(stack.client, taskQueue, {
    model: `cold-${mode}-${run}`,
    environment: 'bench',
    commit: '0'.repeat(40),
    specPath: 'specs/cold.yaml',
    repository: stack.dir,
  });
  const started = performance.now();
  const worker = await spawnColdWorker(stack, mode, taskQueue, started);
  try {
    await handle.result();
    return { pollingMs: worker.pollingMs, firstWorkflowMs: performance.now() - started };
  } finally {
    await worker.stop();
  }
}

/**
 * Section 3: cold starts of both modes, alternating so that a disturbance lands on both; one
 * warm-up of each first (tsx's transform cache, the OS page cache), not counted.
 */
export async function workerColdStart(stack: TemporalStack, runs: number) {
  const modes: ColdStartMode[] = ['bundle-on-start', 'prebuilt-bundle'];
  const times: Record<ColdStartMode, { pollingMs: number; firstWorkflowMs: number }[]> = {
    'bundle-on-start': [],
    'prebuilt-bundle': [],
  };
  for (let run = 0; run <= runs; run += 1) {
    for (const mode of modes) {
      const measured = await coldStartOnce(stack, mode, run);
      if (run > 0) times[mode].push(measured);
    }
  }
  const describe = (mode: ColdStartMode) => ({
    to_polling: summary(times[mode].map((time) => time.pollingMs)),
    to_first_workflow_done: summary(times[mode].map((time) => time.firstWorkflowMs)),
  });
  const onStart = describe('bundle-on-start');
  const prebuilt = describe('prebuilt-bundle');
  return {
    runs,
    warm_up_runs_excluded: 1,
    bundle_on_start: onStart,
    prebuilt_bundle: prebuilt,
    bundle_on_start_over_prebuilt: round(
      onStart.to_first_workflow_done.p50_ms / prebuilt.to_first_workflow_done.p50_ms,
    ),
    target: 'none: issue 12 item 8 asks for the figure',
  };
}
