import { describe, expect, it } from 'vitest';
import {
  deployModelWorkflowId,
  deploymentLabel,
  MEMO_DEPLOYMENT_KEY,
  parseDeployModelWorkflowId,
} from '../../domain/deployment.ts';
import { DeploymentMemoSchema, deployModelStart, retireModelStart } from '../../domain/run-start.ts';

const DEPLOYMENT = {
  model: 'iris-classifier',
  environment: 'staging',
  commit: 'abcdef0123456789abcdef0123456789abcdef01',
  specPath: 'specs/iris.yaml',
  repository: '/repo',
};

describe('the workflow id of a deployment', () => {
  it('is deploy/<environment>/<model> and parses back to the same deployment', () => {
    const id = deployModelWorkflowId(DEPLOYMENT);
    expect(id).toBe('deploy/staging/iris-classifier');
    expect(parseDeployModelWorkflowId(id)).toEqual({ model: 'iris-classifier', environment: 'staging' });
  });

  it('round-trips any pair of DNS labels', () => {
    for (const key of [
      { model: 'a', environment: 'b' },
      { model: 'breast-cancer-2', environment: 'production' },
      { model: 'x'.repeat(63), environment: 'eu-west-1' },
    ]) {
      expect(parseDeployModelWorkflowId(deployModelWorkflowId(key))).toEqual(key);
    }
  });

  it('is not parsed out of ids of other shapes', () => {
    for (const id of [
      'staging/iris',
      'deploy/staging',
      'deploy//iris',
      'deploy/staging/',
      'deploy/staging/iris/extra',
      'retire/staging/iris',
      '',
    ]) {
      expect(parseDeployModelWorkflowId(id), id).toBeUndefined();
    }
  });
});

describe('the label of a deployment', () => {
  it('reads <model>@<environment>', () => {
    expect(deploymentLabel(DEPLOYMENT)).toBe('iris-classifier@staging');
  });
});

describe('starting a run', () => {
  it('gives DeployModel its id, a memo with the spec digest, and a summary naming the spec and commit', () => {
    const start = deployModelStart({ deployment: DEPLOYMENT, specDigest: 'd'.repeat(64) });
    expect(start).toEqual({
      workflowId: 'deploy/staging/iris-classifier',
      memo: {
        [MEMO_DEPLOYMENT_KEY]: {
          model: 'iris-classifier',
          environment: 'staging',
          commit: DEPLOYMENT.commit,
          specDigest: 'd'.repeat(64),
        },
      },
      searchAttributes: { model: 'iris-classifier', environment: 'staging', commit: DEPLOYMENT.commit },
      staticSummary: 'Deploy iris-classifier to staging from specs/iris.yaml@abcdef012345',
    });
    expect(DeploymentMemoSchema.parse(start.memo[MEMO_DEPLOYMENT_KEY])).toEqual(
      start.memo[MEMO_DEPLOYMENT_KEY],
    );
  });

  it('gives RetireModel the same id and a memo without a spec digest', () => {
    const start = retireModelStart(DEPLOYMENT);
    expect(start.workflowId).toBe(deployModelStart({ deployment: DEPLOYMENT, specDigest: 'd' }).workflowId);
    expect(start.memo[MEMO_DEPLOYMENT_KEY]).toEqual({
      model: 'iris-classifier',
      environment: 'staging',
      commit: DEPLOYMENT.commit,
    });
    expect(start.staticSummary).toBe(
      'Retire iris-classifier from staging: specs/iris.yaml removed at abcdef012345',
    );
  });
});
