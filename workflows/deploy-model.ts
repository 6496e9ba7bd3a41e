/**
 * DeployModel: one spec at one commit, from the pinned artifact to live traffic.
 *
 * resolve → scan → validate → package → load into the data plane → (staged rollout: shadow,
 * weights, pauses, analyses, approvals) → promote, or roll back automatically. Scanning comes
 * before validation because it never executes the model: a hostile file is refused before
 * onnxruntime loads it. A model's first version needs no rollout: it serves all traffic at once.
 *
 * The workflow only orchestrates: every side effect is an activity (`activity-proxies.ts`), every
 * decision comes from a pure function (`rollout-plan.ts`, `analysis/`) and is recorded in the
 * audit log. Cancelling the workflow rolls the candidate back; the rollback runs in a
 * non-cancellable scope and is idempotent.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  sleep,
} from '@temporalio/workflow';
import type { SupplyChainReport } from '../activities/supply-chain.ts';
import type { Verdict } from '../analysis/judge.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { isDomainFailureType } from '../domain/failure-types.ts';
import type { ScanLimits, ScanReport } from '../model/scan.ts';
import { normaliseDurations } from '../specs/durations-ms.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import {
  authenticateOrigin,
  checkPolicy,
  checkRelease,
  checkShipGates,
  dataPlane,
  dataPlaneLoad,
  packageModel,
  recordDecision,
  resolveArtifact,
  scanModel,
  validateModel,
  verifySupplyChain,
} from './activity-proxies.ts';
import { DeploymentRun } from './deployment-run.ts';
import type { PipelineStage } from './deployment-state.ts';
import { failureText } from './failure-text.ts';
import { statusQuery } from './messages.ts';
import { startMonitor } from './monitor-start.ts';
import { type RolloutContext, rollBack, runRollout } from './rollout.ts';
import { signatureLine } from './status.ts';
import { summariseValidation } from './validation-summary.ts';

export { statusQuery };

/** The policy's scan limits without its unset fields (those keep the worker's). */
function scanLimitsOf(policy: SupplyChainReport['scanLimits']): Partial<ScanLimits> {
  return Object.fromEntries(
    Object.entries(policy).filter(([, value]) => value !== undefined),
  ) as Partial<ScanLimits>;
}

/** What `modelship deploy`/`apply` start the workflow with. */
export interface DeployModelInput {
  deployment: DeploymentRef;
  /** The parsed spec (defaults applied); parsing happened before the workflow started. */
  spec: ModelDeployment;
  /** The spec file's text exactly as committed; it goes into the bundle. */
  specText: string;
  /** sha256 of `specText`; `apply` compares it to tell an unchanged spec after a rollback. */
  specDigest?: string;
  /**
   * The OIDC token of who started the run (`gitops/origin-token.ts`), verified by the worker
   * first thing. Short-lived and bound to the commit by its `sha` claim where it has one.
   */
  originToken?: string;
}

/**
 * `serving`: the version answers all traffic without a rollout (the model's first version, or it
 * already was stable). `promoted`: the staged rollout passed. `rolled-back`: the rollout stopped
 * and stable was restored (a failed verdict, a rejection, a timeout, or a cancellation).
 * `rejected`: refused before the data plane.
 */
export type DeployModelOutcome = 'serving' | 'promoted' | 'rolled-back' | 'rejected';

/** The workflow's result, readable by a person in the Web UI and by the CLI. */
export interface DeployModelResult {
  outcome: DeployModelOutcome;
  model: string;
  environment: string;
  commit: string;
  specDigest?: string;
  /** One line for people: what happened and why. */
  summary: string;
  bundle?: { digest: string; path: string };
  /** The version name on the data plane, and the stable version when the run ended. */
  dataPlane?: { version: string; stable: string | null };
  validation?: { metrics: { name: string; value: number; passed: boolean }[] };
  rejection?: { step: PipelineStage; type: string; message: string };
  rollback?: { reason: string; verdict?: Verdict };
}

/** A domain failure raised by one of our activities, or undefined for anything else. */
function domainFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
    return isDomainFailureType(error.cause.type) ? error.cause : undefined;
  }
  return undefined;
}

/**
 * The ship-or-not gates (digest, structure scan with the policy's limits, secrets, signatures,
 * policy on the declared spec): one activity over the one gate evaluator that `plan` and
 * `modelship scan` use too (`supply-chain/gates/`). Runs started before it replay the activities
 * they had: the supply-chain gates and the scan apart, or (older still) the scan alone.
 */
async function passShipGates(
  run: DeploymentRun,
  input: Parameters<typeof checkShipGates>[0],
): Promise<{ supplyChain: SupplyChainReport | undefined; scan: ScanReport }> {
  const recordSupplyChain = (supplyChain: SupplyChainReport) =>
    run.record({
      signature: signatureLine(supplyChain),
      policy: supplyChain.policy.results,
      ...(supplyChain.fourEyes === undefined ? {} : { fourEyes: supplyChain.fourEyes }),
    });
  if (patched('one-ship-gate-activity')) {
    const { supplyChain, scan } = await checkShipGates(input);
    recordSupplyChain(supplyChain);
    run.record({ scanFindings: scan.findings.length });
    return { supplyChain, scan };
  }
  const supplyChain = patched('supply-chain-gates') ? await verifySupplyChain(input) : undefined;
  if (supplyChain) recordSupplyChain(supplyChain);
  const scan = await scanModel({
    deployment: input.deployment,
    artifact: input.artifact,
    ...(supplyChain
      ? {
          limits: scanLimitsOf(supplyChain.scanLimits),
          ...(supplyChain.modelDir ? { modelDir: supplyChain.modelDir } : {}),
        }
      : {}),
  });
  run.record({ scanFindings: scan.findings.length });
  return { supplyChain, scan };
}

export async function DeployModel(input: DeployModelInput): Promise<DeployModelResult> {
  // Specs started by an older CLI carry durations as text only; from here on, milliseconds.
  const spec = normaliseDurations(input.spec);
  const run = new DeploymentRun(input.deployment, spec.spec.model.source);
  run.register();
  const result = await deploy(run, { ...input, spec });
  // An approval refusal still being audited finishes before the run closes (even a cancelled one).
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return result;
}

async function deploy(run: DeploymentRun, input: DeployModelInput): Promise<DeployModelResult> {
  const { deployment, spec } = input;
  const where = `${deployment.model}@${deployment.environment}`;
  const base = {
    model: deployment.model,
    environment: deployment.environment,
    commit: deployment.commit,
    ...(input.specDigest ? { specDigest: input.specDigest } : {}),
  };
  const enter = (stage: PipelineStage) => run.enter(stage);

  let bundle: { digest: string; path: string };
  let loaded: { version: string; stable: string | null };
  // The bundle of the version the candidate would replace, for the monitor's rollback to it.
  let stableBundleDigest: string | undefined;
  let metrics: { name: string; value: number; passed: boolean }[];
  try {
    await enter('resolving');
    // Added after rollouts had run: before it, who started a run was taken from the commit only.
    if (patched('verified-origin')) {
      const authenticated = await authenticateOrigin({
        deployment,
        ...(input.originToken ? { token: input.originToken } : {}),
      });
      run.record({ origin: authenticated.origin, unsignedApprovals: authenticated.unsignedApprovals });
      if (authenticated.origin) {
        const { actor, issuerName, repository, ref, workflow, fingerprint } = authenticated.origin;
        await recordDecision({
          deployment,
          decision: 'origin.verified',
          actor,
          details: { issuer: issuerName, repository, ref, workflow, tokenFingerprint: fingerprint },
        });
      }
    }
    // Added after rollouts had run: before it, nothing kept a rolled-back artifact from coming
    // back, and no environment could ask for what passed another first.
    if (patched('release-gates')) {
      const release = await checkRelease({
        deployment,
        artifactSha256: spec.spec.model.sha256,
        ...(spec.spec.promotion ? { promotion: spec.spec.promotion } : {}),
      });
      if (release.promotion) {
        const { evidence, lines } = release.promotion;
        run.record({ promotion: lines });
        await recordDecision({
          deployment,
          decision: 'promotion.evidence',
          details: {
            from: evidence.from,
            artifactSha256: evidence.artifactSha256,
            ...(evidence.period
              ? {
                  version: evidence.period.version,
                  since: evidence.period.since,
                  run: evidence.period.run,
                  approvals: evidence.period.approvals.map((a) => a.approver),
                }
              : {}),
            soakedMs: evidence.soakedMs ?? 0,
          },
        });
      }
    }
    const artifact = await resolveArtifact({
      deployment,
      source: spec.spec.model.source,
      sha256: spec.spec.model.sha256,
    });
    run.record({ artifact: { sha256: artifact.sha256, sizeBytes: artifact.sizeBytes } });

    await enter('scanning');
    const { supplyChain, scan } = await passShipGates(run, {
      deployment,
      artifact,
      spec,
      specText: input.specText,
    });

    await enter('validating');
    const validation = await validateModel({
      deployment,
      artifact,
      interface: spec.spec.interface,
      validation: spec.spec.validation,
      ...(supplyChain ? { scanLimits: scanLimitsOf(supplyChain.scanLimits) } : {}),
      ...(supplyChain?.holdoutPrivacy ? { holdoutPrivacy: supplyChain.holdoutPrivacy } : {}),
    });
    metrics = validation.metrics.map(({ name, value, passed }) => ({ name, value, passed }));
    const validationSummary = summariseValidation(validation);
    run.record({ validation: metrics, ...(validationSummary ? { validationSummary } : {}) });

    // The policy judges what is now known: verified signers, measured metrics, the commit's author.
    const policy = supplyChain ? await checkPolicy({ deployment, spec, supplyChain, validation }) : undefined;
    if (policy) run.record({ policy: policy.results });

    await enter('packaging');
    const packaged = await packageModel({
      deployment,
      artifact,
      specText: input.specText,
      validation,
      scan,
      ...(supplyChain ? { supplyChain } : {}),
      ...(policy ? { policy } : {}),
    });
    bundle = { digest: packaged.digest, path: packaged.path };
    run.record({ bundle });

    await enter('loading');
    const result = await dataPlaneLoad.loadIntoDataPlane({ deployment, bundle });
    loaded = { version: result.version, stable: result.routing.stable };
    stableBundleDigest = result.routing.stableBundleDigest;
    run.record({ dataPlane: loaded });
    if (result.becameStable) {
      await enter('serving');
      const summary = `${where} serving version ${result.version} to all traffic (bundle ${bundle.digest.slice(0, 12)}, commit ${deployment.commit.slice(0, 12)})`;
      await recordDecision({
        deployment,
        decision: 'deployment.serving',
        details: {
          version: result.version,
          artifactSha256: spec.spec.model.sha256,
          bundleDigest: bundle.digest,
          summary,
        },
      });
      // Added after rollouts had run: before it, nothing watched a version once it served.
      if (patched('monitor-after-promotion')) {
        await startMonitor({ deployment, spec, version: result.version, bundle });
      }
      return { ...base, outcome: 'serving', summary, bundle, dataPlane: loaded, validation: { metrics } };
    }
  } catch (error) {
    const failure = domainFailureOf(error);
    if (!failure) throw error;
    const rejection = { step: run.state.stage, type: failure.type ?? 'Unknown', message: failure.message };
    run.record({ rejection });
    await enter('rejected');
    const summary = `${where} rejected at ${rejection.step}: ${failure.message}`;
    await recordDecision({ deployment, decision: 'deployment.rejected', details: { ...rejection, summary } });
    return {
      ...base,
      outcome: 'rejected',
      summary,
      rejection,
      ...(run.state.validation ? { validation: { metrics: run.state.validation } } : {}),
    };
  }

  const stable = loaded.stable;
  const candidate = loaded.version;
  if (stable === null)
    throw ApplicationFailure.nonRetryable(`the data plane has no stable version of ${deployment.model}`);
  const ctx: RolloutContext = { deployment, spec, stable, candidate, run };

  let end: Awaited<ReturnType<typeof runRollout>>;
  try {
    end = await runRollout(ctx);
  } catch (error) {
    if (isCancellation(error)) {
      end = {
        outcome: 'rolled-back',
        reason: 'the rollout was cancelled (superseded by a newer commit, or by an operator)',
      };
    } else {
      const failure = domainFailureOf(error);
      if (!failure) {
        // Infrastructure gave out mid-rollout: put stable back before failing, never leave a half-deployed model.
        await CancellationScope.nonCancellable(() =>
          rollBack(ctx, `the rollout failed: ${failureText(error)}`),
        );
        throw error;
      }
      end = { outcome: 'rolled-back', reason: `the data plane refused a step: ${failure.message}` };
    }
  }

  if (end.outcome === 'rolled-back') {
    const { reason, verdict } = end;
    await CancellationScope.nonCancellable(() => rollBack(ctx, reason, verdict));
    const summary = `${where} rolled back to ${stable}: ${reason}`;
    return {
      ...base,
      outcome: 'rolled-back',
      summary,
      bundle,
      dataPlane: { version: candidate, stable },
      validation: { metrics },
      rollback: { reason, ...(verdict ? { verdict } : {}) },
    };
  }

  const summary = `${where} promoted version ${candidate} (was ${stable}) after ${spec.spec.rollout.steps.length} steps`;
  // The candidate is stable on the data plane now: a cancellation must not stop the promotion
  // from being recorded, or the audit and the run's result would deny what is serving.
  await CancellationScope.nonCancellable(async () => {
    await enter('promoted');
    await recordDecision({
      deployment,
      decision: 'deployment.promoted',
      details: {
        version: candidate,
        artifactSha256: spec.spec.model.sha256,
        bundleDigest: bundle.digest,
        previous: stable,
        summary,
      },
    });
    if (patched('monitor-after-promotion')) {
      await startMonitor({
        deployment,
        spec,
        version: candidate,
        bundle,
        previous: { version: stable, ...(stableBundleDigest ? { bundleDigest: stableBundleDigest } : {}) },
      });
    }
  });
  // The previous stable stays warm for a fast manual rollback, then is released.
  try {
    await sleep(spec.spec.rollout.postPromotionWindowMs);
    await dataPlane.unloadFromDataPlane({ deployment, version: stable });
  } catch (error) {
    // Cancelled during the window (a newer commit): the promotion stands; the newer run decides.
    if (!isCancellation(error)) throw error;
  }
  return {
    ...base,
    outcome: 'promoted',
    summary,
    bundle,
    dataPlane: { version: candidate, stable: candidate },
    validation: { metrics },
  };
}
