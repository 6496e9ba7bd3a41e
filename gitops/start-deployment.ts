/**
 * Starting DeployModel and RetireModel through a Temporal client, for every starter (`deploy`,
 * `dev`, `apply`): the id, memo and summary come from `domain/run-start.ts`, the typed
 * search attributes from `workflows/search-attributes.ts`, so a run reads the same in the Web UI
 * and in the audit log whoever started it.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { DeploymentRef } from '../domain/deployment.ts';
import { deployModelStart, type RunStart, retireModelStart } from '../domain/run-start.ts';
import type { DeployModel, DeployModelInput } from '../workflows/deploy-model.ts';
import { RETIRING_STAGE, type RetireModel } from '../workflows/retire-model.ts';
import {
  EnvironmentKey,
  GitCommitKey,
  ModelNameKey,
  RolloutStageKey,
} from '../workflows/search-attributes.ts';
import { specDigest } from './spec-digest.ts';

/**
 * Starts DeployModel; a run already going for the same model and environment is an error
 * (`WorkflowExecutionAlreadyStartedError`). The input and the memo carry the digest of the spec's
 * text, by which `apply` recognises a version it already deployed or that was rolled back.
 */
export function startDeployment(
  client: Client,
  taskQueue: string,
  input: DeployModelInput,
): Promise<WorkflowHandle<typeof DeployModel>> {
  const digest = input.specDigest ?? specDigest(input.specText);
  const start = deployModelStart({ deployment: input.deployment, specDigest: digest });
  return client.workflow.start<typeof DeployModel>('DeployModel', {
    taskQueue,
    args: [{ ...input, specDigest: digest }],
    ...startOptions(start, 'resolving'),
  });
}

/** Starts RetireModel for a removed spec's deployment, with the memo and search attributes DeployModel runs have. */
export function startRetirement(
  client: Client,
  taskQueue: string,
  deployment: DeploymentRef,
): Promise<WorkflowHandle<typeof RetireModel>> {
  return client.workflow.start<typeof RetireModel>('RetireModel', {
    taskQueue,
    args: [{ deployment }],
    ...startOptions(retireModelStart(deployment), RETIRING_STAGE),
  });
}

function startOptions(start: RunStart, stage: string) {
  return {
    workflowId: start.workflowId,
    memo: start.memo,
    typedSearchAttributes: [
      { key: ModelNameKey, value: start.searchAttributes.model },
      { key: EnvironmentKey, value: start.searchAttributes.environment },
      { key: GitCommitKey, value: start.searchAttributes.commit },
      { key: RolloutStageKey, value: stage },
    ],
    staticSummary: start.staticSummary,
  };
}
