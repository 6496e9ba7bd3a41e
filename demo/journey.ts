/**
 * The newcomer's journey, one commit at a time: a first deployment, a good new version promoted
 * through shadow, canary, analysis and an approval, a bad version caught on live traffic and
 * rolled back on its own, the same head applied again without effect, and the audit log verified.
 * Every change reaches Temporal through `applyChanges`, the code behind `modelship apply`, from
 * the previous commit to the new one, exactly as CI runs it after a merge.
 */

import { describeMetric } from '../analysis/format.ts';
import type { Finding } from '../analysis/monitor-look.ts';
import { deployModelWorkflowId, monitorWorkflowId } from '../domain/deployment.ts';
import { shortId } from '../domain/short-id.ts';
import { type ApplyReport, applyChanges } from '../gitops/apply.ts';
import { CommitReader, NULL_SHA } from '../gitops/git.ts';
import type { LoadSummary } from '../serving/loadgen/index.ts';
import type { DeployModelOutcome, DeployModelResult } from '../workflows/deploy-model.ts';
import { monitorStatusQuery } from '../workflows/messages.ts';
import { auditVerify } from './audit-verify.ts';
import type { Cleanup } from './cleanup.ts';
import { type Approval, followRun } from './follow.ts';
import type { DemoRepo } from './repo.ts';
import { echo, say } from './say.ts';
import { APPROVER, irisSpec, MIN_AGREEMENT, SPEC_PATH } from './spec.ts';
import type { Stack } from './stack.ts';
import { startTraffic } from './traffic.ts';

/** Requests per second of the steady trickle: enough for each step's verdict within seconds. */
export const TRAFFIC_RATE = 300;
const MODEL = 'iris';
const WORKFLOW_ID = deployModelWorkflowId({ model: MODEL, environment: 'staging' });

/** What the journey did: each deployment by how it ended, in order, and the drift the monitor caught. */
export interface JourneyResult {
  outcomes: { version: string; outcome: DeployModelOutcome }[];
  /** The feature the monitor found drifted once the traffic shifted. */
  drifted: string;
}

/** The feature whose live values the journey shifts, and by how much (standard deviations). */
const DRIFT = { feature: 'petal_length_cm', by: 2 } as const;
/** How long the monitor (a look every 2 s) may take to catch the drift. */
const DRIFT_DEADLINE_MS = 90_000;

/** One model version of the journey: where it comes from in this project and what to say about it. */
interface Version {
  name: 'v1' | 'v2' | 'bad-disagree';
  description: string;
}

export async function runJourney(
  stack: Stack,
  repo: DemoRepo,
  cleanup: Cleanup,
  signal: AbortSignal,
): Promise<JourneyResult> {
  const outcomes: JourneyResult['outcomes'] = [];
  /** Data plane version names (bundle digests) to model versions, for the traffic report. */
  const names = new Map<string, string>();
  const deploy = async (base: string, version: Version, message: string, approval?: Approval) => {
    signal.throwIfAborted();
    const path = `models/iris/${version.name}/model.onnx`;
    await repo.copyFromProject(path);
    await repo.write(
      SPEC_PATH,
      irisSpec({ path, sha256: await repo.sha256(path), description: version.description }),
    );
    const head = await repo.commit(message);
    say(`committed ${shortId(head)} "${message}": ${SPEC_PATH} now pins ${path} by its sha256`);
    const report = await apply(stack, repo, base, head);
    if (report.started.length !== 1)
      throw new Error(`apply ${shortId(base)}..${shortId(head)} started nothing`);
    const result = await followRun({
      client: stack.client,
      workflowId: WORKFLOW_ID,
      commit: head,
      label: `iris ${version.name}`,
      say,
      signal,
      ...(approval ? { approval } : {}),
    });
    if (result.dataPlane) names.set(result.dataPlane.version, version.name);
    outcomes.push({ version: version.name, outcome: result.outcome });
    return { head, result };
  };

  say('[1/6] commit iris v1 and apply it: the first deployment');
  await repo.copyFromProject('models/iris/holdout.csv');
  const first = await deploy(
    NULL_SHA,
    { name: 'v1', description: 'Iris species, StandardScaler + LogisticRegression.' },
    'iris v1: first deployment',
  );
  expectOutcome(first.result, 'serving');
  say(`iris v1: ${first.result.summary}`);

  say(
    `starting live traffic: ${TRAFFIC_RATE} requests/s of holdout rows to iris (open loop) until the end; ` +
      'every later rollout step is judged on this traffic',
  );
  const traffic = await startTraffic({
    url: stack.dataPlane.url,
    model: MODEL,
    ratePerS: TRAFFIC_RATE,
    maxMs: 600_000,
  });
  cleanup.add('traffic', async () => {
    await traffic.stop().catch(() => undefined);
  });
  say(
    `traffic flowing: ${traffic.first.requests} requests in the first second, ${traffic.first.errors} errors`,
  );

  say(
    `[2/6] commit iris v2 (an SVC; agrees with v1 on 44 of 45 holdout rows) and apply it: a staged rollout, ` +
      `shadow (agreement ≥ ${MIN_AGREEMENT}), 50 % canary, analysis, approval by ${APPROVER}, 100 %`,
  );
  const good = await deploy(
    first.head,
    { name: 'v2', description: 'Iris species, StandardScaler + SVC (RBF).' },
    'iris v2: SVC classifier',
    { approver: APPROVER, outsider: 'mallory', comment: 'canary metrics look healthy' },
  );
  expectOutcome(good.result, 'promoted');
  say(`iris v2: ${good.result.summary}`);

  say(
    '[3/6] commit a bad version and apply it: bad-disagree scores 0.867 on the holdout, above the 0.85 gate, ' +
      'so offline validation passes; it disagrees with v2 on about 16 % of rows, which only live traffic shows',
  );
  const bad = await deploy(
    good.head,
    { name: 'bad-disagree', description: 'Iris species, reweighted classes.' },
    'iris: reweight classes',
  );
  expectOutcome(bad.result, 'rolled-back');
  const reason = bad.result.rollback?.reason ?? bad.result.summary;
  say(`iris bad-disagree: rolled back automatically: ${reason}`);
  // The reason names the metric that broke; any other metric the verdict measured is shown too.
  for (const metric of bad.result.rollback?.verdict?.metrics ?? []) {
    const line = describeMetric(metric);
    if (!reason.includes(line)) say(`iris bad-disagree: also measured: ${line}`);
  }

  say('[4/6] apply the same head again (a re-run CI job): Git still names bad-disagree, modelship remembers');
  const again = await apply(stack, repo, good.head, bad.head);
  const decision = again.decisions[0]?.decision;
  if (again.started.length > 0 || decision?.action !== 'refuse') {
    throw new Error(
      `applying the rolled-back head again was expected to start nothing, got ${JSON.stringify(decision)}`,
    );
  }
  say(`nothing started, and apply exits ${again.exitCode} so CI shows it until the spec changes`);

  say(
    `[5/6] drift: from now on the live traffic's ${DRIFT.feature} is ${DRIFT.by} standard deviations above the holdout's. ` +
      `v2 serves all traffic, so its monitor (workflow ${monitorWorkflowId({ model: MODEL, environment: 'staging' })}, ` +
      'started at its promotion) reads the data plane every 2 s and tests each input against the profile of the holdout v2 was validated on',
  );
  const load = await traffic.stop();
  for (const line of trafficReport(load, names)) say(line);
  const drifting = await startTraffic({
    url: stack.dataPlane.url,
    model: MODEL,
    ratePerS: TRAFFIC_RATE,
    maxMs: DRIFT_DEADLINE_MS,
    shift: { feature: DRIFT.feature, by: DRIFT.by, unit: 'sd' },
  });
  cleanup.add('drifted traffic', async () => {
    await drifting.stop().catch(() => undefined);
  });
  const finding = await waitForDrift(stack, signal);
  await drifting.stop();
  say(`monitor: ${finding.summary}`);
  say(
    `monitor: recorded in the audit log (monitor.finding), shown on its run in the Web UI and in \`modelship status\`; ` +
      'with spec.monitoring.actions it would also send an alert and a retraining request with this evidence',
  );

  say('[6/6] stop the traffic and the worker, then verify the audit log with `modelship audit verify`');
  await stack.stopWorker();
  const verify = await auditVerify(stack.config.home);
  for (const line of `${verify.stdout}${verify.stderr}`.trim().split('\n')) echo(line);
  if (verify.code !== 0) throw new Error(`modelship audit verify exited ${verify.code}`);
  return { outcomes, drifted: finding.feature ?? finding.key };
}

/** Polls the monitor of iris until it reports an input drift, or fails after the deadline. */
async function waitForDrift(stack: Stack, signal: AbortSignal): Promise<Finding> {
  const handle = stack.client.workflow.getHandle(monitorWorkflowId({ model: MODEL, environment: 'staging' }));
  const deadline = Date.now() + DRIFT_DEADLINE_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    const status = await handle.query(monitorStatusQuery).catch((error: Error) => error);
    if (status instanceof Error) last = status.message;
    else {
      const drift = status.findings.find((finding) => finding.check === 'input-drift');
      if (drift) return drift;
      last = `${status.summary?.looks ?? 0} looks, ${status.summary?.rows ?? 0} rows, nothing found`;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `the monitor of iris did not report the drift within ${DRIFT_DEADLINE_MS / 1000} s (${last})`,
  );
}

/** `applyChanges` as `modelship apply --no-wait` runs it, its lines shown as the command prints them. */
async function apply(stack: Stack, repo: DemoRepo, base: string, head: string): Promise<ApplyReport> {
  say(
    `running apply --base ${base === NULL_SHA ? 'the null sha (nothing before)' : shortId(base)} --head ${shortId(head)}`,
  );
  return applyChanges({
    reader: await CommitReader.open(repo.root),
    repository: repo.root,
    base,
    head,
    connect: async () => stack.client,
    taskQueue: stack.config.taskQueue,
    // The demo follows each run itself, to narrate it and to give the approval when asked.
    wait: false,
    out: echo,
    err: echo,
  });
}

function expectOutcome(result: DeployModelResult, expected: DeployModelOutcome): void {
  if (result.outcome !== expected) {
    throw new Error(`iris was expected to end ${expected}, but ended ${result.outcome}: ${result.summary}`);
  }
}

/** The trickle's totals, and which model version answered how many requests. */
function trafficReport(load: LoadSummary, names: Map<string, string>): string[] {
  const versions = Object.entries(load.versions).map(
    ([version, summary]) =>
      `${names.get(version) ?? version} ${summary.requests}` +
      (summary.accuracy === null ? '' : ` (accuracy ${summary.accuracy.toFixed(3)})`),
  );
  const lines = [
    `traffic: ${load.requests} requests in ${load.durationS.toFixed(0)} s, ${load.errors} failed, ` +
      `p99 ${load.latencyMs.p99.toFixed(2)} ms; answered by ${versions.join(', ')}`,
  ];
  const badAnswers = [...names]
    .filter(([, name]) => name === 'bad-disagree')
    .map(([v]) => load.versions[v]?.requests ?? 0);
  if (badAnswers.length > 0 && badAnswers.every((count) => count === 0)) {
    lines.push('no caller ever got an answer from bad-disagree: it was only shadowed, then rolled back');
  }
  return lines;
}
