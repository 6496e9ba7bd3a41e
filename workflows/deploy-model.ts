/**
 * DeployModel: one spec at one commit, from artifact to packaged bundle.
 *
 * This is the first half of the pipeline: resolve the pinned artifact, scan it, validate it
 * offline, package it. Scanning comes before validation because it never executes the model:
 * a hostile file is refused before onnxruntime ever loads it. The staged rollout comes after `package` in a later version. The workflow
 * only orchestrates: every side effect is an activity, and every decision is recorded in the
 * audit log through the `recordDecision` activity.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createArtifactActivities } from '../activities/artifact.ts';
import type { createAuditActivities } from '../activities/audit.ts';
import type { createDataPlaneActivities } from '../activities/data-plane.ts';
import type { DeploymentRef } from '../activities/deployment.ts';
import { DOMAIN_FAILURE_TYPES, isDomainFailureType } from '../activities/failure-types.ts';
import type { createPackageActivities } from '../activities/package.ts';
import type { createScanActivities } from '../activities/scan.ts';
import type { createValidateActivities } from '../activities/validate.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { RolloutStageKey } from './search-attributes.ts';
import { type DeploymentStatus, type PipelineStage, renderDetails } from './status.ts';

/** What `modelship deploy`/`apply` start the workflow with. */
export interface DeployModelInput {
  deployment: DeploymentRef;
  /** The parsed spec (defaults applied); parsing happened before the workflow started. */
  spec: ModelDeployment;
  /** The spec file's text exactly as committed; it goes into the bundle. */
  specText: string;
}

/**
 * `serving`: the version answers all traffic (the model's first deployment, or this version was
 * already stable). `loaded`: loaded and warm next to the stable version, waiting for the staged
 * rollout. `rejected`: stopped before the data plane, with the reason.
 */
export type DeployModelOutcome = 'serving' | 'loaded' | 'rejected';

/** The workflow's result, readable by a person in the Web UI and by `modelship deploy`. */
export interface DeployModelResult {
  outcome: DeployModelOutcome;
  model: string;
  environment: string;
  commit: string;
  /** One line for people: what happened and why. */
  summary: string;
  bundle?: { digest: string; path: string };
  /** The version name on the data plane, and the stable version after this run. */
  dataPlane?: { version: string; stable: string | null };
  validation?: { metrics: { name: string; value: number; passed: boolean }[] };
  rejection?: { step: PipelineStage; type: string; message: string };
}

export const statusQuery = defineQuery<DeploymentStatus>('status');

// Timeouts and retries, declared once per capability. Domain failures are non-retryable on both
// ends: activities raise them as such, and the policies list them in case one is re-wrapped.
const nonRetryableErrorTypes = DOMAIN_FAILURE_TYPES;

const { resolveArtifact } = proxyActivities<ReturnType<typeof createArtifactActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
});

const { validateModel } = proxyActivities<ReturnType<typeof createValidateActivities>>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
});

const { scanModel } = proxyActivities<ReturnType<typeof createScanActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
});

const { packageModel } = proxyActivities<ReturnType<typeof createPackageActivities>>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
});

// Loading warms the model on the data plane; a large model can take minutes.
const { loadIntoDataPlane } = proxyActivities<ReturnType<typeof createDataPlaneActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes },
});

// The audit log must not lose a decision, so recording retries for much longer than the steps.
const { recordDecision } = proxyActivities<ReturnType<typeof createAuditActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 50 },
});

/** A domain failure raised by one of our activities, or undefined for anything else. */
function domainFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
    return isDomainFailureType(error.cause.type) ? error.cause : undefined;
  }
  return undefined;
}

export async function DeployModel(input: DeployModelInput): Promise<DeployModelResult> {
  const { deployment, spec } = input;
  const status: DeploymentStatus = {
    model: deployment.model,
    environment: deployment.environment,
    commit: deployment.commit,
    stage: 'resolving',
    history: [],
  };
  setHandler(statusQuery, () => status);

  const enter = async (stage: PipelineStage): Promise<void> => {
    status.stage = stage;
    status.history.push({ stage, at: new Date().toISOString() });
    upsertSearchAttributes([{ key: RolloutStageKey, value: stage }]);
    setCurrentDetails(renderDetails(status));
    await recordDecision({ deployment, decision: 'stage.entered', details: { stage } });
  };

  try {
    await enter('resolving');
    const artifact = await resolveArtifact({
      deployment,
      source: spec.spec.model.source,
      sha256: spec.spec.model.sha256,
    });
    status.artifact = { sha256: artifact.sha256, sizeBytes: artifact.sizeBytes };

    await enter('scanning');
    const scan = await scanModel({ deployment, artifact });
    status.scanFindings = scan.findings.length;

    await enter('validating');
    const validation = await validateModel({
      deployment,
      artifact,
      interface: spec.spec.interface,
      validation: spec.spec.validation,
    });
    const metrics = validation.metrics.map(({ name, value, passed }) => ({ name, value, passed }));
    status.validation = metrics;

    await enter('packaging');
    const bundle = await packageModel({ deployment, artifact, specText: input.specText, validation, scan });
    status.bundle = { digest: bundle.digest, path: bundle.path };

    await enter('loading');
    const loaded = await loadIntoDataPlane({
      deployment,
      bundle: { digest: bundle.digest, path: bundle.path },
    });
    status.dataPlane = { version: loaded.version, stable: loaded.routing.stable };

    const outcome = loaded.becameStable ? 'serving' : 'loaded';
    await enter(outcome);
    const where = `${deployment.model}@${deployment.environment}`;
    const summary = loaded.becameStable
      ? `${where} serving version ${loaded.version} to all traffic (bundle ${bundle.digest.slice(0, 12)}, commit ${deployment.commit.slice(0, 12)})`
      : `${where} version ${loaded.version} loaded next to stable ${loaded.routing.stable ?? 'none'}; staged rollout pending (commit ${deployment.commit.slice(0, 12)})`;
    await recordDecision({
      deployment,
      decision: `deployment.${outcome}`,
      details: { bundle: bundle.digest, version: loaded.version, stable: loaded.routing.stable, summary },
    });
    return {
      outcome,
      model: deployment.model,
      environment: deployment.environment,
      commit: deployment.commit,
      summary,
      bundle: { digest: bundle.digest, path: bundle.path },
      dataPlane: { version: loaded.version, stable: loaded.routing.stable },
      validation: { metrics },
    };
  } catch (error) {
    const failure = domainFailureOf(error);
    if (!failure) throw error;
    const failedStage = status.stage;
    const rejection = { step: failedStage, type: failure.type ?? 'Unknown', message: failure.message };
    status.rejection = rejection;
    await enter('rejected');
    const summary = `${deployment.model}@${deployment.environment} rejected at ${failedStage}: ${failure.message}`;
    await recordDecision({ deployment, decision: 'deployment.rejected', details: { ...rejection, summary } });
    return {
      outcome: 'rejected',
      model: deployment.model,
      environment: deployment.environment,
      commit: deployment.commit,
      summary,
      rejection,
      ...(status.validation ? { validation: { metrics: status.validation } } : {}),
    };
  }
}
