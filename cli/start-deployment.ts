/**
 * Starting DeployModel for a spec file: parse it (errors stop here, before Temporal sees
 * anything), find its commit, and start the workflow with the memo, search attributes and
 * summary that make it readable in the Web UI and attributable in the audit log.
 */
import { readFile } from 'node:fs/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { specDigest } from '../gitops/spec-digest.ts';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import { repoFileExists } from '../specs/parse-file.ts';
import { MEMO_DEPLOYMENT_KEY } from '../workflows/audit-context.ts';
import type { DeployModel, DeployModelInput } from '../workflows/deploy-model.ts';
import { deployModelWorkflowId } from '../workflows/ids.ts';
import {
  EnvironmentKey,
  GitCommitKey,
  ModelNameKey,
  RolloutStageKey,
} from '../workflows/search-attributes.ts';
import { CliError } from './command.ts';
import { locateSpec } from './git-context.ts';

/** Reads, parses and locates a spec file; throws a CliError listing every spec error. */
export async function loadDeploymentInput(file: string): Promise<DeployModelInput> {
  const location = await locateSpec(file);
  let specText: string;
  try {
    specText = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = parseSpec(specText, { file, fileExists: repoFileExists(location.repoRoot) });
  if (!parsed.ok) {
    throw new CliError(parsed.errors.map(formatSpecError).join('\n'), 1);
  }
  return {
    spec: parsed.spec,
    specText,
    deployment: {
      model: parsed.spec.metadata.name,
      environment: parsed.spec.spec.rollout.environment,
      commit: location.commit,
      specPath: location.specPath,
      repoRoot: location.repoRoot,
      author: location.author,
    },
  };
}

/**
 * Starts DeployModel; a rollout already running for the same model and environment is an error.
 * The input and the memo carry the digest of the spec's text, by which `apply` recognises a
 * version it already deployed or that was rolled back.
 */
export async function startDeployment(
  client: Client,
  taskQueue: string,
  input: DeployModelInput,
): Promise<WorkflowHandle<typeof DeployModel>> {
  const { deployment } = input;
  const digest = input.specDigest ?? specDigest(input.specText);
  return client.workflow.start<typeof DeployModel>('DeployModel', {
    taskQueue,
    workflowId: deployModelWorkflowId(deployment),
    args: [{ ...input, specDigest: digest }],
    memo: {
      [MEMO_DEPLOYMENT_KEY]: {
        model: deployment.model,
        environment: deployment.environment,
        commit: deployment.commit,
        specDigest: digest,
      },
    },
    typedSearchAttributes: [
      { key: ModelNameKey, value: deployment.model },
      { key: EnvironmentKey, value: deployment.environment },
      { key: GitCommitKey, value: deployment.commit },
      { key: RolloutStageKey, value: 'resolving' },
    ],
    staticSummary: `Deploy ${deployment.model} to ${deployment.environment} from ${deployment.specPath}@${deployment.commit.slice(0, 12)}`,
  });
}
