/**
 * Starting a run for a deployment, the part that needs no Temporal client: its workflow id, the
 * memo the audit and `apply` read back, the search attribute values and the one-line summary the
 * Web UI shows. `gitops/start-deployment.ts` adds the client call and the typed search attribute
 * keys (values of `@temporalio/common`, which this folder does not import).
 */

import { z } from 'zod';
import { type DeploymentRef, deployModelWorkflowId, MEMO_DEPLOYMENT_KEY } from './deployment.ts';
import { shortId } from './short-id.ts';

/** What a run's memo holds under {@link MEMO_DEPLOYMENT_KEY}. */
export const DeploymentMemoSchema = z.object({
  model: z.string().describe('`metadata.name` of the spec.'),
  environment: z.string().describe('`spec.rollout.environment` of the spec.'),
  commit: z.string().describe('Git commit the spec was read at.'),
  specDigest: z
    .string()
    .optional()
    .describe(
      'sha256 of the spec text as committed (`gitops/spec-digest.ts`); DeployModel runs only, absent in runs started by older versions.',
    ),
});
export type DeploymentMemo = z.output<typeof DeploymentMemoSchema>;

/** Everything a starter needs to start a run for a deployment, except the client and its arguments. */
export interface RunStart {
  workflowId: string;
  memo: Record<typeof MEMO_DEPLOYMENT_KEY, DeploymentMemo>;
  /** Values of the `ModelName`, `Environment` and `GitCommit` search attributes. */
  searchAttributes: { model: string; environment: string; commit: string };
  /** Shown by the Web UI in the run list. */
  staticSummary: string;
}

/** DeployModel for a deployment whose spec text has the digest `specDigest`. */
export function deployModelStart(input: { deployment: DeploymentRef; specDigest: string }): RunStart {
  const { deployment, specDigest } = input;
  return {
    ...common(deployment, { specDigest }),
    staticSummary: `Deploy ${deployment.model} to ${deployment.environment} from ${deployment.specPath}@${shortId(deployment.commit)}`,
  };
}

/** RetireModel for a deployment whose spec `deployment.specPath` was removed at `deployment.commit`. */
export function retireModelStart(deployment: DeploymentRef): RunStart {
  return {
    ...common(deployment, {}),
    staticSummary: `Retire ${deployment.model} from ${deployment.environment}: ${deployment.specPath} removed at ${shortId(deployment.commit)}`,
  };
}

function common(
  deployment: DeploymentRef,
  extra: Pick<DeploymentMemo, 'specDigest'>,
): Omit<RunStart, 'staticSummary'> {
  const { model, environment, commit } = deployment;
  return {
    workflowId: deployModelWorkflowId(deployment),
    memo: { [MEMO_DEPLOYMENT_KEY]: { model, environment, commit, ...extra } },
    searchAttributes: { model, environment, commit },
  };
}
