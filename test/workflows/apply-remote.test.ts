/**
 * `apply` from a checkout no worker can see: the repository lives behind Git's smart HTTP
 * (`git http-backend`, private: every request needs the token), `apply` runs in a CI runner's
 * own clone and names the repository by URL, and the worker, on its own home, fetches the commit
 * itself with its token. The runner's clone is deleted as soon as apply has started the run, so a
 * worker that read it would fail. A commit the server never got fails at once, not after retries.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deployModelWorkflowId } from '../../domain/deployment.ts';
import { applyChanges } from '../../gitops/apply.ts';
import { CommitReader } from '../../gitops/git.ts';
import type { DeployModelResult } from '../../workflows/deploy-model.ts';
import { type GitHttpServer, pushToBare, startGitHttpServer } from '../support/git-http-server.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

const MODEL = 'remote-iris';
const WORKFLOW_ID = deployModelWorkflowId({ model: MODEL, environment: 'staging' });
const TOKEN = 'ghs_worker-token-for-the-test';
const NULL_SHA = '0'.repeat(40);

let stack: TestStack;
let client: Client;
let server: GitHttpServer;
let serverRoot: string;
let author: TempRepo;
let url: string;

/** A fresh clone of the hosted repository, as `actions/checkout` makes one on a CI runner. */
async function runnerClone(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-runner-'));
  const withToken = url.replace('http://', `http://x-access-token:${TOKEN}@`);
  await simpleGit().clone(withToken, dir);
  return dir;
}

/** `modelship apply --no-wait` in `cwd`, as the apply workflow runs it. */
function modelshipApply(cwd: string, args: string[]) {
  return runModelship(['apply', ...args, '--no-wait'], {
    cwd,
    env: {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      MODELSHIP_TASK_QUEUE: stack.taskQueue,
      MODELSHIP_REPOSITORY_URL: url,
    },
  });
}

beforeAll(async () => {
  stack = await startTestStack('apply-remote', { git: { token: TOKEN } });
  client = stack.client;
  serverRoot = await mkdtemp(join(tmpdir(), 'modelship-git-server-'));
  server = await startGitHttpServer({
    root: serverRoot,
    auth: { username: 'x-access-token', password: TOKEN },
  });
  url = server.url('models');
  author = await createTempRepo('modelship-author-');
  await author.copyFromProject('models/iris/v1/model.onnx');
  await author.copyFromProject('models/iris/holdout.csv');
  await author.write(
    'specs/iris.yaml',
    exampleSpecYaml({ name: MODEL, dataset: 'iris', version: 'v1', minAccuracy: 0.8 }),
  );
  await author.commit('iris v1');
  await pushToBare(author, serverRoot, 'models');
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
  await author?.remove();
  await rm(serverRoot, { recursive: true, force: true });
});

describe.sequential('apply from a runner the worker cannot see', () => {
  it('deploys a commit the worker fetched over HTTPS-style smart HTTP with its own token', async () => {
    const runner = await runnerClone();
    const head = (await simpleGit(runner).revparse(['HEAD'])).trim();
    const run = await modelshipApply(runner, ['--base', NULL_SHA, '--head', head]);
    // Gone before the worker's activities could read it: only the hosted repository remains.
    await rm(runner, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`apply: workers fetch the commit from ${url} (MODELSHIP_REPOSITORY_URL)`);
    expect(run.status).toBe(0);

    const result: DeployModelResult = await client.workflow.getHandle(WORKFLOW_ID).result();
    expect(result.outcome).toBe('serving');
    // The worker asked the server for the pack itself (the runner's clone asked before apply).
    const packRequests = server.requests.filter((request) =>
      request.startsWith('POST /models.git/git-upload-pack'),
    );
    expect(packRequests.length).toBeGreaterThanOrEqual(2);
  });

  it('fails at once, naming the commit, when the server does not have it', async () => {
    const runner = await runnerClone();
    try {
      await simpleGit(runner).addConfig('user.email', 'ci@example.com').addConfig('user.name', 'ci');
      const local = await createLocalCommit(runner);
      const report = await applyChanges({
        reader: await CommitReader.open(runner),
        repository: url,
        base: NULL_SHA,
        head: local,
        connect: async () => client,
        taskQueue: stack.taskQueue,
        wait: false,
        out: () => {},
        err: () => {},
      });
      expect(report.started).toEqual([WORKFLOW_ID]);
      const handle = client.workflow.getHandle(WORKFLOW_ID);
      const result: DeployModelResult = await handle.result();
      expect(result.outcome).toBe('rejected');
      expect(result.rejection?.message).toContain(local);
      expect(result.rejection?.message).toContain(`is not in ${url}`);
      expect(result.rejection?.message).toContain('Push the commit');
      // Non-retryable: every activity of the run was tried once.
      const { events } = await handle.fetchHistory();
      const attempts = (events ?? []).flatMap(
        (event) => event.activityTaskStartedEventAttributes?.attempt ?? [],
      );
      expect(attempts.length).toBeGreaterThan(0);
      expect(attempts.every((attempt) => attempt === 1)).toBe(true);
    } finally {
      await rm(runner, { recursive: true, force: true });
    }
  });
});

/** A commit made on the runner and never pushed: the hosted repository has never seen it. */
async function createLocalCommit(dir: string): Promise<string> {
  const git = simpleGit(dir);
  const spec = exampleSpecYaml({ name: MODEL, dataset: 'iris', version: 'v1', minAccuracy: 0.81 });
  await writeFile(join(dir, 'specs/iris.yaml'), spec);
  await git.add(['specs/iris.yaml']);
  await git.commit('never pushed');
  return (await git.revparse(['HEAD'])).trim();
}
