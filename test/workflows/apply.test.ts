/**
 * `apply` against the shared real Temporal dev server, a worker on its own task queue and a real
 * data plane, driven by commits to a real temporary repository: the first apply deploys, the
 * same head applied again starts nothing, an invalid spec stops everything, a newer commit
 * supersedes a rollout in flight, and a rolled-back spec is not redeployed until it changes.
 */
import { spawn } from 'node:child_process';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MEMO_DEPLOYMENT_KEY } from '../../domain/deployment.ts';
import { type ApplyReport, applyChanges } from '../../gitops/apply.ts';
import { CommitReader } from '../../gitops/git.ts';
import { specDigest } from '../../gitops/spec-digest.ts';
import { RolloutStageKey } from '../../workflows/search-attributes.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let taskQueue: string;
let stack: TestStack;
// Workflow ids are shared by every test file on the dev server: names of our own.
const MODEL = 'apply-iris';
const WORKFLOW_ID = `deploy/staging/${MODEL}`;
let client: Client;
let repo: TempRepo;

/** The iris spec of this file, at a model version and with rollout steps of the test's choice. */
function irisSpec(version: 'v1' | 'v2', steps?: string[]): string {
  return exampleSpecYaml({
    name: MODEL,
    dataset: 'iris',
    version,
    minAccuracy: 0.8,
    postPromotionWindow: '1s',
    ...(steps ? { steps } : {}),
  });
}

/** `applyChanges` with this file's client and task queue; its lines are returned with the report. */
async function apply(
  base: string,
  head: string,
  wait = true,
): Promise<ApplyReport & { out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const report = await applyChanges({
    reader: await CommitReader.open(repo.root),
    repository: repo.root,
    base,
    head,
    connect: async () => client,
    taskQueue,
    wait,
    pollMs: 200,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { ...report, out, err };
}

/** Runs the CLI in a child process: the worker in this process must keep running while it waits. */
function modelship(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [repoPath('bin/modelship.mjs'), ...args], {
      cwd: repo.root,
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), MODELSHIP_TASK_QUEUE: taskQueue },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

async function latestRunId(workflowId = WORKFLOW_ID): Promise<string> {
  return (await client.workflow.getHandle(workflowId).describe()).runId;
}

/** Polls the run's RolloutStage search attribute until it reads `stage`. */
async function waitForStage(stage: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
    if (description.typedSearchAttributes.get(RolloutStageKey) === stage) return;
    if (description.status.name !== 'RUNNING' || Date.now() > deadline) {
      throw new Error(
        `${WORKFLOW_ID} never reached ${stage} (status ${description.status.name}, stage ${description.typedSearchAttributes.get(RolloutStageKey)})`,
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

beforeAll(async () => {
  stack = await startTestStack('apply');
  ({ taskQueue, client } = stack);
  repo = await createTempRepo('modelship-apply-repo-');
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  await repo.write('README.md', 'models and specs\n');
});

afterAll(async () => {
  await stack?.stop();
  await repo?.remove();
});

// One history, in order: each test starts from the commit the previous one left.
describe.sequential('modelship apply', () => {
  let empty: string;
  let first: string;

  it('deploys the specs of the first commit and reports the result', async () => {
    empty = await repo.commit('models, no specs yet');
    await repo.write('specs/iris.yaml', irisSpec('v1'));
    first = await repo.commit('iris v1');
    const run = await modelship(['apply', '--base', empty, '--head', first]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('apply: 1 spec changed: 1 ok, 0 invalid');
    expect(run.stdout).toContain(
      `apply: ${MODEL}@staging: started ${WORKFLOW_ID} for specs/iris.yaml@${first.slice(0, 12)}`,
    );
    expect(run.stdout).toMatch(
      new RegExp(`apply: ${MODEL}@staging: serving: ${MODEL}@staging serving version`),
    );
    expect(run.status).toBe(0);

    // The memo pins what ran: the commit, and the digest of the spec's text at that commit.
    const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
    expect(description.memo?.[MEMO_DEPLOYMENT_KEY]).toMatchObject({
      commit: first,
      specDigest: specDigest(irisSpec('v1')),
    });
  });

  it('starts nothing when the same head is applied again', async () => {
    const before = await latestRunId();
    const again = await apply(empty, first);
    expect(again.started).toEqual([]);
    expect(again.decisions.map(({ decision }) => decision)).toEqual([{ action: 'none', why: 'deployed' }]);
    expect(again.out).toContain(
      `apply: ${MODEL}@staging: already deployed from ${first.slice(0, 12)} (serving)`,
    );
    expect(again.exitCode).toBe(0);
    expect(await latestRunId()).toBe(before);
  });

  it('starts nothing at all when one changed spec is invalid, and exits 1', async () => {
    await repo.write(
      'specs/breast.yaml',
      exampleSpecYaml({ name: 'apply-fresh', dataset: 'iris', version: 'v1', minAccuracy: 0.8 }),
    );
    await repo.write(
      'specs/broken.yaml',
      'apiVersion: modelship.dev/v1\nkind: ModelDeployment\nmetadata: {}\n',
    );
    const broken = await repo.commit('a valid new spec and a broken one');
    const run = await modelship(['apply', '--base', first, '--head', broken]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^specs\/broken\.yaml:3:11 {2}metadata\.name: missing required field$/m);
    expect(run.stdout).toContain('apply: nothing started: 1 invalid spec');
    await expect(client.workflow.getHandle('deploy/staging/apply-fresh').describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
    await repo.git.raw(['reset', '--hard', first]);
  });

  let held: string;
  it('supersedes a rollout of an older commit: it rolls back, then the new one starts', async () => {
    await repo.write(
      'specs/iris.yaml',
      irisSpec('v2', ['setWeight: 10', 'pause: { duration: 10m }', 'setWeight: 100']),
    );
    held = await repo.commit('iris v2, held at 10 %');
    const started = await apply(first, held, false);
    expect(started.started).toEqual([WORKFLOW_ID]);
    await waitForStage('paused');

    // The same head again: already rolling out, nothing new.
    const heldRun = await latestRunId();
    const same = await apply(first, held, false);
    expect(same.decisions.map(({ decision }) => decision)).toEqual([{ action: 'none', why: 'rolling-out' }]);
    expect(await latestRunId()).toBe(heldRun);

    await repo.write(
      'specs/iris.yaml',
      irisSpec('v2', ['setWeight: 10', 'pause: { duration: 1s }', 'setWeight: 100']),
    );
    const quicker = await repo.commit('iris v2, a shorter pause');
    const superseding = await apply(held, quicker);
    expect(superseding.decisions.map(({ decision }) => decision)).toEqual([{ action: 'supersede' }]);
    expect(superseding.out).toContain(
      `apply: ${MODEL}@staging: superseding the rollout of ${held.slice(0, 12)} (run ${heldRun}); it rolls back first (it was at paused): stable gets all traffic again, the candidate is unloaded`,
    );
    // While it waits, apply tells each stage as the new rollout reaches it.
    expect(superseding.out).toContain(`apply: ${MODEL}@staging: paused: step 2/3 (pause 1s)`);
    expect(superseding.out).toContain(`apply: ${MODEL}@staging: promoted`);
    expect(superseding.out.join('\n')).toMatch(
      /previous rollout closed: rolled-back: the rollout was cancelled/,
    );
    expect(superseding.out.at(-1)).toMatch(new RegExp(`^apply: ${MODEL}@staging: promoted: `));
    expect(superseding.exitCode).toBe(0);
    held = quicker;
  });

  it('does not redeploy a spec that was rolled back until the spec changes', async () => {
    // Nobody approves within the timeout: the rollout rolls back on its own.
    await repo.write(
      'specs/iris.yaml',
      irisSpec('v1', ['setWeight: 10', 'approval: { approvers: [alice], timeout: 2s }', 'setWeight: 100']),
    );
    const unapproved = await repo.commit('iris back to v1, needs alice');
    const rolledBack = await apply(held, unapproved);
    expect(rolledBack.out.at(-1)).toMatch(new RegExp(`^apply: ${MODEL}@staging: rolled-back: `));
    // Who must approve, and how, while it waited; then what became of it.
    expect(rolledBack.out).toContainEqual(
      expect.stringMatching(
        new RegExp(`^apply: ${MODEL}@staging: step 2: waiting until \\S+ for an approval by alice$`),
      ),
    );
    expect(rolledBack.out).toContain(
      `apply: ${MODEL}@staging:   as alice: npx modelship approve ${MODEL} --env staging --as alice (or in the Web UI: More Actions → Send an Update, name approve, Data {"approver":"alice","decision":"approve"})`,
    );
    expect(rolledBack.out).toContain(
      `apply: ${MODEL}@staging: step 2: no decision before the approval timed out`,
    );
    expect(rolledBack.exitCode).toBe(1);

    const runId = await latestRunId();
    const again = await apply(held, unapproved);
    expect(again.started).toEqual([]);
    expect(again.decisions.map(({ decision }) => decision)).toEqual([
      { action: 'refuse', why: 'rolled-back' },
    ]);
    expect(again.out).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^apply: ${MODEL}@staging: spec unchanged since the automatic rollback of ${unapproved.slice(0, 12)} \\(.+\\); change the spec to deploy again$`,
        ),
      ),
    );
    expect(again.exitCode).toBe(1);
    expect(await latestRunId()).toBe(runId);
    held = unapproved;
  });

  it('superseding a rollout that already promoted says the promotion stands', async () => {
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({
        name: MODEL,
        dataset: 'iris',
        version: 'v2',
        minAccuracy: 0.8,
        postPromotionWindow: '10m',
        steps: ['setWeight: 100'],
      }),
    );
    const promoting = await repo.commit('iris v2, a long post-promotion window');
    await apply(held, promoting, false);
    await waitForStage('promoted');
    // Into the window itself: the promotion is recorded just after the stage changes.
    await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
    const promotedRun = await latestRunId();
    await repo.write('specs/iris.yaml', irisSpec('v2', ['setWeight: 100']));
    const next = await repo.commit('iris v2, the usual window');
    const superseding = await apply(promoting, next, false);
    expect(superseding.out).toContain(
      `apply: ${MODEL}@staging: superseding the rollout of ${promoting.slice(0, 12)} (run ${promotedRun}); it had already promoted its version (post-promotion window): the promotion stands and nothing rolls back; the previous version is left loaded instead of being unloaded at the end of the window`,
    );
    expect(superseding.out.join('\n')).toMatch(/previous rollout closed: promoted: /);
    expect(superseding.out.join('\n')).not.toMatch(/rolls back first/);
  });
});
