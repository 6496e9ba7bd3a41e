/**
 * STUB activities for the fast workflow tier (`test/workflows/*-branches.test.ts`): plain
 * functions registered under the real activity names, which answer from a per-run script and
 * record every call. They let the real DeployModel code run on the real dev server through every
 * branch of its pipeline and rollout loop in seconds; what the real activities do is tested in
 * `test/activities`, and the whole journey in the slower tests beside these.
 *
 * One worker serves every test of a file, so a call finds its script by the workflow id it runs
 * for: each test registers a {@link StubRun} for its own deployment and reads back its calls.
 * The stubs are typed by the real activities (`createActivities`), so an activity that changes
 * its input or result, or a new one, fails the typecheck here instead of drifting silently.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RoutingSummary } from '../../activities/data-plane.ts';
import type { createActivities } from '../../activities/index.ts';
import type { WatchCandidateResult } from '../../activities/monitor.ts';
import type { MetricVerdict, Outcome, Verdict } from '../../analysis/judge.ts';
import type { FailureType } from '../../domain/failure-types.ts';
import { defaultPolicy } from '../../supply-chain/policy/schema.ts';

export type Activities = ReturnType<typeof createActivities>;
export type ActivityName = keyof Activities;
export type InputOf<K extends ActivityName> = Parameters<Activities[K]>[0];
export type ResultOf<K extends ActivityName> = Awaited<ReturnType<Activities[K]>>;

/** One recorded activity attempt, in the order the workflow made them. */
export type StubCall = { [K in ActivityName]: { name: K; input: InputOf<K>; attempt: number } }[ActivityName];

/** How a scripted stub answers one attempt; throw to fail it. */
export type StubHandler<K extends ActivityName> = (
  input: InputOf<K>,
  attempt: number,
) => ResultOf<K> | Promise<ResultOf<K>>;

/** Per activity, how this run's stub answers; activities left out answer as a healthy rollout would. */
export type StubScript = { [K in ActivityName]?: StubHandler<K> };

/** The version the data plane serves before the run (the stubs' "stable"). */
export const STABLE_VERSION = 'stable000001';
/** The bundle digest the packaging stub returns; its first 12 characters are the candidate's version. */
export const CANDIDATE_DIGEST = `ca0d1da7e000${'0'.repeat(52)}`;
export const CANDIDATE_VERSION = CANDIDATE_DIGEST.slice(0, 12);

/** A judge's verdict as the monitor would return it; `metrics` default to one error-rate row. */
export function verdict(outcome: Outcome, reason: string, metrics?: MetricVerdict[]): Verdict {
  return {
    outcome,
    judge: 'sequential',
    reason,
    metrics: metrics ?? [
      {
        name: 'errorRate',
        unit: 'fraction',
        stable: 0.001,
        candidate: outcome === 'fail' ? 0.2 : 0.001,
        limit: '≤ 0.01',
        passed: outcome === 'fail' ? false : outcome === 'pass' ? true : null,
        evidence: 'stub counts',
      },
    ],
  };
}

/**
 * A `watchCandidate` stub that answers the given verdicts in turn, one per watch (an extension is
 * a watch), and then passes. Each result carries a distinct `start` so a test can check that an
 * extension resumes the window of the watch before it.
 */
export function watchAnswers(...verdicts: Verdict[]): StubHandler<'watchCandidate'> {
  let watches = 0;
  return (input) => {
    watches += 1;
    const answer = verdicts[watches - 1] ?? verdict('pass', 'stub: passes once the script runs out');
    const result: WatchCandidateResult = {
      verdict: answer,
      start: input.resume ?? { startedAtMs: 1_000 * watches, baseline: {} },
      elapsedMs: input.durationMs,
      reads: 3,
    };
    return result;
  };
}

/** A stub that fails every attempt with a domain failure: non-retryable, of a type the workflow knows. */
export function failWith<K extends ActivityName>(type: FailureType, message: string): StubHandler<K> {
  return () => {
    throw ApplicationFailure.create({ type, message, nonRetryable: true });
  };
}

/**
 * A stub that does not answer until the test calls `release` (or the activity is cancelled, as a
 * worker shutting down does): a run held inside a step, for cancelling it there. `entered`
 * resolves once the workflow has called it.
 */
export function held<K extends ActivityName>(answer: StubHandler<K>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered!: () => void;
  const reached = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const handler: StubHandler<K> = async (input, attempt): Promise<ResultOf<K>> => {
    entered();
    const signal = Context.current().cancellationSignal;
    await Promise.race([released, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
    return await answer(input, attempt);
  };
  return { handler, entered: reached, release };
}

function routing(overrides: Partial<RoutingSummary> = {}): RoutingSummary {
  return {
    stable: STABLE_VERSION,
    canary: null,
    shadow: null,
    loaded: [STABLE_VERSION, CANDIDATE_VERSION],
    generation: 1,
    ...overrides,
  };
}

/**
 * What each activity answers unless a script says otherwise: a healthy model and data plane. A
 * script may delegate to it for the calls it does not mean to change.
 */
export const healthy: { readonly [K in ActivityName]: StubHandler<K> } = {
  resolveArtifact: (input) => ({
    sha256: input.sha256,
    path: `/stub/artifacts/sha256/${input.sha256}`,
    sizeBytes: 4_096,
    source: input.source,
  }),
  verifySupplyChain: (input) => {
    // The environment's default policy, as the real activity reads it without a policy file.
    const policy = defaultPolicy(input.deployment.environment);
    return {
      policy: { file: `policies/${input.deployment.environment}.yaml`, origin: 'default', results: [] },
      modelDir: null,
      fourEyes: policy.rollout.fourEyes,
      signature: {
        required: [],
        verifiedKeys: [],
        modelDir: null,
        rootDigest: null,
        files: [],
        signatures: [],
        status: 'unsigned',
        findings: [],
      },
      secrets: { findings: [] },
      scanners: {},
      scanLimits: policy.scan,
    };
  },
  checkShipGates: async (input, attempt) => ({
    supplyChain: await healthy.verifySupplyChain(input, attempt),
    scan: await healthy.scanModel({ deployment: input.deployment, artifact: input.artifact }, attempt),
  }),
  scanModel: (input) => ({
    passed: true,
    findings: [],
    checks: [],
    model: null,
    sha256: input.artifact.sha256,
    sizeBytes: input.artifact.sizeBytes,
  }),
  validateModel: () => ({
    passed: true,
    metrics: [{ name: 'accuracy', value: 0.96, unit: 'ratio', threshold: { min: 0.85 }, passed: true }],
    latency: { p50Ms: 0.1, p99Ms: 0.3, runs: 100 },
    holdoutRows: 30,
    holdoutSha256: '0'.repeat(64),
    interface: { ok: true },
    onnxruntimeVersion: 'stub',
  }),
  checkPolicy: (input) => ({
    file: input.supplyChain.policy.file,
    origin: 'default',
    passed: true,
    results: [],
  }),
  // A policy that allows unsigned approvals and needs no origin; signed approvals are tested by
  // scripting these with the real verifier (`approval-proof-branches.test.ts`).
  verifyApproval: (input) => ({
    accepted: true,
    approver: input.request.approver,
    identities: [],
    method: 'none',
  }),
  authenticateOrigin: () => ({ origin: null, unsignedApprovals: 'allow' }),
  packageModel: () => ({
    digest: CANDIDATE_DIGEST,
    path: `/stub/bundles/${CANDIDATE_DIGEST}`,
    manifestPath: `/stub/bundles/${CANDIDATE_DIGEST}/manifest.json`,
    files: [],
  }),
  loadIntoDataPlane: (input) => ({
    version: input.bundle.digest.slice(0, 12),
    becameStable: false,
    routing: routing(),
  }),
  setCandidateWeight: (input) => routing({ canary: { version: input.version, weight: input.weight } }),
  mirrorToCandidate: (input) => routing({ shadow: input.version }),
  stopMirroring: () => routing(),
  promoteCandidate: (input) => routing({ stable: input.version }),
  rollbackCandidate: () => routing(),
  restoreVersion: (input) => routing({ stable: input.version }),
  unloadFromDataPlane: () => ({ unloaded: true }),
  retireFromDataPlane: () => ({ retired: true, draining: [STABLE_VERSION], message: 'stub: retired' }),
  readModelMetrics: () => ({ takenAt: new Date(0).toISOString(), versions: {} }),
  watchCandidate: watchAnswers(),
  estimateAnalysisSteps: () => ({
    traffic: { requestsPerSecond: 100, errorRate: 0.001, source: 'spec' },
    steps: [],
  }),
  recordDecision: () => ({ seq: 0 }),
  // Nothing quarantined, no promotion asked: the release gate's own tests script it.
  checkRelease: () => ({}),
  // A monitor whose version is gone ends at its first look; monitor tests script real counters.
  readMonitorInputs: () => ({ served: false }),
  sendMonitorAction: () => ({ status: 200 }),
  reconcileEnvironment: (request) => ({
    environment: request.environment,
    generation: 1,
    findings: [],
    repairs: [],
    gitDriftPolicy: 'report',
    convergence: { state: 'done', message: 'every live replica serves generation 1' },
    serving: {},
    remaining: [],
  }),
};

/** The calls of one workflow run, and its script. */
export class StubRun {
  readonly calls: StubCall[] = [];
  readonly #waiters: { test: (call: StubCall) => boolean; resolve: () => void }[] = [];

  constructor(readonly script: StubScript) {}

  /** Called by the stubs; wakes whoever waits for such a call. */
  record(call: StubCall): void {
    this.calls.push(call);
    for (const waiter of this.#waiters.filter((w) => w.test(call))) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  /** Resolves once the workflow has called `name` (already called counts). */
  called(name: ActivityName): Promise<void> {
    const test = (call: StubCall) => call.name === name;
    if (this.calls.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  /** The inputs of every attempt of `name`, in order. */
  inputsOf<K extends ActivityName>(name: K): InputOf<K>[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.input as InputOf<K>);
  }

  /** Names of the activities called, in order (retries included). */
  names(): ActivityName[] {
    return this.calls.map((call) => call.name);
  }

  /** The audit decisions the workflow recorded, in order (`stage.entered` left out). */
  decisions(): string[] {
    return this.inputsOf('recordDecision')
      .map((input) => input.decision)
      .filter((decision) => decision !== 'stage.entered');
  }

  /** The details of the last decision named `decision`. */
  decision(decision: string): Record<string, unknown> | undefined {
    return this.inputsOf('recordDecision').findLast((input) => input.decision === decision)?.details;
  }

  /** The stages the workflow entered, from its audited `stage.entered` decisions. */
  stages(): string[] {
    return this.inputsOf('recordDecision')
      .filter((input) => input.decision === 'stage.entered')
      .map((input) => String(input.details?.stage));
  }

  /**
   * What the data plane was asked to do, in order, one line per call with versions named by
   * role: `setCandidateWeight candidate 50`, `rollbackCandidate to stable`, `unload candidate`.
   */
  dataPlane(): string[] {
    const role = (version: string | undefined) =>
      version === STABLE_VERSION ? 'stable' : version === CANDIDATE_VERSION ? 'candidate' : `${version}`;
    return this.calls.flatMap((call): string[] => {
      switch (call.name) {
        case 'loadIntoDataPlane':
          return ['load'];
        case 'setCandidateWeight':
          return [`setCandidateWeight ${role(call.input.version)} ${call.input.weight}`];
        case 'mirrorToCandidate':
          return [`mirror to ${role(call.input.version)}`];
        case 'stopMirroring':
          return ['stop mirroring'];
        case 'promoteCandidate':
          return [`promote ${role(call.input.version)}`];
        case 'rollbackCandidate':
          return [`rollbackCandidate to ${role(call.input.toVersion)}`];
        case 'restoreVersion':
          return [`restore ${role(call.input.version)}`];
        case 'unloadFromDataPlane':
          return [`unload ${role(call.input.version)}`];
        case 'retireFromDataPlane':
          return ['retire'];
        default:
          return [];
      }
    });
  }
}

/**
 * The activities a stub worker registers, and the runs they serve. `run(workflowId, script)`
 * before starting the workflow; a call for a workflow id without a run fails without retrying.
 */
export class StubActivities {
  readonly #runs = new Map<string, StubRun>();
  readonly activities: Activities;

  constructor() {
    const stub = <K extends ActivityName>(name: K) =>
      (async (input: InputOf<K>) => {
        const info = Context.current().info;
        const workflowId = info.workflowExecution?.workflowId ?? 'none';
        const run = this.#runs.get(workflowId);
        if (!run) throw ApplicationFailure.nonRetryable(`no stub run for workflow ${workflowId}`);
        run.record({ name, input, attempt: info.attempt } as StubCall);
        const handler = (run.script[name] ?? healthy[name]) as StubHandler<K>;
        return handler(input, info.attempt);
      }) as unknown as Activities[K];
    const names = Object.keys(healthy) as ActivityName[];
    this.activities = Object.fromEntries(names.map((name) => [name, stub(name)])) as unknown as Activities;
  }

  /** Registers the script of the run with this workflow id, and returns where its calls go. */
  run(workflowId: string, script: StubScript = {}): StubRun {
    if (this.#runs.has(workflowId)) throw new Error(`workflow id ${workflowId} is already used in this file`);
    const run = new StubRun(script);
    this.#runs.set(workflowId, run);
    return run;
  }
}
