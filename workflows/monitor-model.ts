/**
 * MonitorModel: watches the version that serves all traffic of one model in one environment, for
 * as long as it serves. DeployModel starts it when a version starts serving or is promoted
 * (`startMonitor`), under the workflow id `monitor/<environment>/<model>`, replacing the monitor of
 * the version before; it runs on through continue-as-new.
 *
 * Every `spec.monitoring.interval` it reads the version's live statistics (summed over the
 * data plane's replicas) and judges them against the bundle's reference profile with the pure
 * `lookAt` (`analysis/monitor-look.ts`): input drift per feature, prediction drift, data quality,
 * live accuracy on labels fed back. A finding is raised once; it goes to the audit log, the Web UI
 * details and the `monitorStatus` query, and sets off the spec's actions: an alert webhook and a
 * retraining request with the drift report, and, where the spec asks, a rollback to the version
 * before when live accuracy falls below its floor. Each action is recorded, and carries an
 * idempotency key that stays the same across retries and runs.
 *
 * It ends when the data plane no longer serves the version (a newer version, a rollback, a
 * retirement), after its own rollback (its result then says what serves, for reconcile), and
 * when it is cancelled (replaced by a newer monitor, or the model retired).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type Finding,
  lookAt,
  type MonitorState,
  type MonitorSummary,
  startMonitorState,
  summarise,
} from '../analysis/monitor-look.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import type { ReferenceProfile } from '../domain/reference-profile.ts';
import type { MonitoringSpec } from '../specs/monitoring-schema.ts';
import { dataPlane, readMonitorInputs, recordDecision, sendMonitorAction } from './activity-proxies.ts';
import { failureText } from './failure-text.ts';
import { monitorStatusQuery } from './messages.ts';
import { type MonitorActionRecord, type MonitorStatus, renderMonitorDetails } from './monitor-status.ts';
import { RolloutStageKey } from './search-attributes.ts';

export interface MonitorModelInput {
  deployment: DeploymentRef;
  /** The data plane's name of the version watched, and the bundle it was loaded from. */
  version: string;
  bundleDigest: string;
  monitoring: MonitoringSpec;
  /** The floor live accuracy is held to, when one is set. */
  accuracyFloor?: number;
  /**
   * The version that served before this one, restored when live accuracy falls below its floor
   * and `monitoring.actions.rollback` is on. Absent for a model's first version.
   */
  previous?: { version: string; bundleDigest?: string };
  /** The pinned model artifact (`spec.model.sha256`), named in the rollback's record. */
  artifactSha256?: string;
  /** Looks per run before continuing as new (default 500; tests use a few). */
  looksPerRun?: number;
  /** What an earlier run of this monitor knew (continue-as-new). */
  carried?: {
    state: MonitorState;
    profile: ReferenceProfile;
    findings: Finding[];
    actions: MonitorActionRecord[];
    retrainingRequested?: string;
  };
}

export interface MonitorModelResult {
  outcome: 'version-gone' | 'stopped' | 'rolled-back';
  summary: string;
  findings: Finding[];
  /**
   * After a rollback, what the data plane serves now: the shape of DeployModel's result, so that
   * reconcile and `status` take this run as the deployment's latest word on what must serve.
   */
  dataPlane?: { version: string; stable: string };
}

/** Looks per run before continuing as new, so one run's history stays small. */
const LOOKS_PER_RUN = 500;
/** Actions kept in the status; the audit log keeps them all. */
const MAX_ACTIONS_SHOWN = 50;

export async function MonitorModel(input: MonitorModelInput): Promise<MonitorModelResult> {
  const { deployment, monitoring } = input;
  const where = `${deployment.model}@${deployment.environment}`;
  const info = workflowInfo();
  const status: MonitorStatus = {
    model: deployment.model,
    environment: deployment.environment,
    version: input.version,
    bundleDigest: input.bundleDigest,
    state: 'starting',
    intervalMs: monitoring.intervalMs,
    summary: input.carried ? summarise(input.carried.state) : null,
    findings: input.carried?.findings ?? [],
    actions: input.carried?.actions ?? [],
    ...(input.carried?.retrainingRequested ? { retrainingRequested: input.carried.retrainingRequested } : {}),
  };
  setHandler(monitorStatusQuery, () => status);
  const publish = () => setCurrentDetails(renderMonitorDetails(status));
  publish();

  let profile = input.carried?.profile;
  let state = input.carried?.state;
  let looksThisRun = 0;

  const end = async (
    outcome: MonitorModelResult['outcome'],
    because: string,
    extra: Pick<MonitorModelResult, 'dataPlane'> = {},
  ): Promise<MonitorModelResult> => {
    status.state = 'ended';
    status.endedBecause = because;
    publish();
    upsertSearchAttributes([{ key: RolloutStageKey, value: 'monitor-ended' }]);
    await CancellationScope.nonCancellable(() =>
      recordDecision({
        deployment,
        decision: 'monitor.ended',
        details: { version: input.version, because, findings: status.findings.map((f) => f.key) },
      }),
    );
    return {
      outcome,
      summary: `${where} monitor of ${input.version} ended: ${because}`,
      findings: status.findings,
      ...extra,
    };
  };

  try {
    if (!input.carried) {
      upsertSearchAttributes([{ key: RolloutStageKey, value: 'monitoring' }]);
      await recordDecision({
        deployment,
        decision: 'monitor.started',
        details: {
          version: input.version,
          bundleDigest: input.bundleDigest,
          intervalMs: monitoring.intervalMs,
        },
      });
    }
    for (;;) {
      await sleep(monitoring.intervalMs);
      let reading: Awaited<ReturnType<typeof readMonitorInputs>>;
      try {
        reading = await readMonitorInputs({ deployment, version: input.version, withProfile: !profile });
      } catch (error) {
        if (isCancellation(error)) throw error;
        // The data plane could not be read this time; counters are cumulative, the next look catches up.
        continue;
      }
      if (!reading.served || !reading.statistics) {
        return await end('version-gone', `the data plane no longer serves version ${input.version}`);
      }
      if (!profile) {
        if (!reading.profile) {
          status.noReference = `bundle ${input.bundleDigest.slice(0, 12)} carries no reference profile (packaged before profiles existed)`;
          status.state = 'watching';
          publish();
          continue;
        }
        profile = reading.profile;
      }
      // The exact (urn) drift test came after monitors had run: one that began without it keeps
      // the test it began with when its history is replayed.
      state ??= startMonitorState(
        profile,
        monitoring,
        input.accuracyFloor,
        new Date().toISOString(),
        patched('drift-urn'),
      );
      const look = lookAt(
        state,
        profile,
        reading.statistics,
        reading.labels,
        monitoring,
        new Date().toISOString(),
      );
      state = look.state;
      status.state = 'watching';
      status.summary = look.summary;
      looksThisRun += 1;
      if (look.findings.length > 0) {
        status.findings.push(...look.findings);
        upsertSearchAttributes([{ key: RolloutStageKey, value: 'monitor-finding' }]);
        publish();
        await act(input, status, look.findings, look.summary, info.firstExecutionRunId);
        const restored = await rollBackIfBelowFloor(input, status, look.findings);
        if (restored) {
          return await end('rolled-back', `live accuracy fell below its floor; rolled back to ${restored}`, {
            dataPlane: { version: input.version, stable: restored },
          });
        }
      }
      publish();
      if (looksThisRun >= (input.looksPerRun ?? LOOKS_PER_RUN) || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof MonitorModel>({
          ...input,
          carried: {
            state,
            profile,
            findings: status.findings,
            actions: status.actions.slice(-MAX_ACTIONS_SHOWN),
            ...(status.retrainingRequested ? { retrainingRequested: status.retrainingRequested } : {}),
          },
        });
      }
    }
  } catch (error) {
    if (isCancellation(error)) {
      return await end(
        'stopped',
        'stopped (a newer version was promoted, the model was retired, or an operator cancelled it)',
      );
    }
    throw error;
  }
}

/** Records the findings and carries out the spec's actions for them. */
async function act(
  input: MonitorModelInput,
  status: MonitorStatus,
  findings: Finding[],
  summary: MonitorSummary,
  lineage: string,
): Promise<void> {
  const { deployment, monitoring } = input;
  for (const finding of findings) {
    await recordDecision({
      deployment,
      decision: 'monitor.finding',
      details: { version: input.version, bundleDigest: input.bundleDigest, ...finding },
    });
  }
  const time = new Date().toISOString();
  const common = {
    deployment,
    version: input.version,
    bundleDigest: input.bundleDigest,
    findings,
    summary,
    monitor: { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId },
    time,
  };
  // An alert per look that found something new; ONE retraining request per monitored version.
  const keyOf = (kind: 'alert' | 'retraining') =>
    kind === 'retraining'
      ? `${lineage}/retraining`
      : `${lineage}/${findings.map((f) => f.key).join('+')}/alert`;
  const record = async (action: MonitorActionRecord) => {
    status.actions.push(action);
    if (status.actions.length > MAX_ACTIONS_SHOWN) status.actions.shift();
    await recordDecision({
      deployment,
      decision: `monitor.action`,
      details: { ...action, version: input.version },
    });
  };
  const send = async (
    kind: 'alert' | 'retraining',
    target: { url: string; tokenEnv?: string | undefined },
    extra: object,
  ) => {
    const idempotencyKey = keyOf(kind);
    try {
      const { status: code } = await sendMonitorAction({
        ...common,
        ...extra,
        kind,
        url: target.url,
        ...(target.tokenEnv ? { tokenEnv: target.tokenEnv } : {}),
        idempotencyKey,
      });
      if (kind === 'retraining') status.retrainingRequested = idempotencyKey;
      await record({
        key: idempotencyKey,
        kind,
        outcome: 'sent',
        detail: `${new URL(target.url).host} answered ${code}`,
        time,
      });
    } catch (error) {
      if (isCancellation(error)) throw error;
      const refused = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure;
      await record({
        key: idempotencyKey,
        kind,
        outcome: refused ? 'refused' : 'failed',
        detail: failureText(error),
        time,
      });
    }
  };

  const { alert, retraining } = monitoring.actions;
  if (alert) await send('alert', alert, {});
  const drift = findings.filter((f) => f.check !== 'data-quality');
  if (retraining && drift.length > 0 && status.retrainingRequested === undefined) {
    await send('retraining', retraining, {
      format: retraining.format,
      eventType: retraining.eventType,
      findings: drift,
    });
  }
}

/**
 * The rollback action: when live accuracy measured on fed-back labels (never drift, never the
 * estimate without labels) falls below its floor, the version that served before is served to
 * all traffic again and the bad one is unloaded. It runs to its end even if the monitor is
 * cancelled meanwhile, so traffic is never left between the two; each step is recorded. Returns
 * the version restored, or undefined when there was nothing to do or it could not be done (the
 * refusal is recorded and the watch goes on).
 */
async function rollBackIfBelowFloor(
  input: MonitorModelInput,
  status: MonitorStatus,
  findings: Finding[],
): Promise<string | undefined> {
  const { deployment, monitoring, previous } = input;
  const floor = findings.find((finding) => finding.key === 'performance:accuracy');
  if (!floor || !monitoring.actions.rollback) return undefined;
  const time = new Date().toISOString();
  const key = `${workflowInfo().firstExecutionRunId}/rollback`;
  const record = (outcome: MonitorActionRecord['outcome'], detail: string) => {
    status.actions.push({ key, kind: 'rollback', outcome, detail, time });
    return recordDecision({
      deployment,
      decision: 'monitor.action',
      details: { key, kind: 'rollback', outcome, detail, time, version: input.version },
    });
  };
  if (!previous) {
    await record('refused', `no version served before ${input.version}: nothing to roll back to`);
    return undefined;
  }
  const reason = `${floor.summary} (monitor ${workflowInfo().workflowId})`;
  return await CancellationScope.nonCancellable(async () => {
    try {
      await dataPlane.restoreVersion({
        deployment,
        version: previous.version,
        ...(previous.bundleDigest ? { bundleDigest: previous.bundleDigest } : {}),
        reason,
      });
    } catch (error) {
      await record(
        error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? 'refused' : 'failed',
        `could not restore ${previous.version}: ${failureText(error)}`,
      );
      return undefined;
    }
    await dataPlane.unloadFromDataPlane({ deployment, version: input.version });
    status.rolledBackTo = previous.version;
    await record('done', `restored ${previous.version} to all traffic and unloaded ${input.version}`);
    await recordDecision({
      deployment,
      decision: 'monitor.rolled-back',
      details: {
        version: input.version,
        bundleDigest: input.bundleDigest,
        // The model artifact: a rollback by the monitor quarantines it (release/quarantine.ts).
        ...(input.artifactSha256 ? { artifactSha256: input.artifactSha256 } : {}),
        restored: previous.version,
        ...(previous.bundleDigest ? { restoredBundleDigest: previous.bundleDigest } : {}),
        reason,
        finding: floor,
      },
    });
    return previous.version;
  });
}
