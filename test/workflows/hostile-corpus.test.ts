/**
 * Every case of the hostile corpus (`test/fixtures/hostile/`, built by `npm run corpus:hostile`)
 * from a committed repository, as `modelship deploy` would start it: each passes the resolving
 * stage and is refused by the ship gates with the finding its `case.json` names, as a domain
 * failure, which DeployModel turns into a rejection at the scan step. The activities are the
 * worker's own (`createActivities`), called in the workflow's order with its inputs.
 *
 * One case of each group is deployed through DeployModel on a real Temporal dev server: it is
 * rejected at the scan with its finding, nothing reaches the data plane, and the audit log
 * records why. Every case takes that same path once the gates refuse it.
 */
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import type { AuditStore } from '../../audit/store.ts';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { isDomainFailureType } from '../../domain/failure-types.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { sha256Hex } from '../../model/files.ts';
import { createAdminClient } from '../../serving/admin-client.ts';
import { normaliseDurations } from '../../specs/durations-ms.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

const CORPUS = repoPath('test/fixtures/hostile');

interface Case {
  group: string;
  name: string;
  description: string;
  step: string;
  check: string;
  finding: string;
}

async function cases(): Promise<Case[]> {
  const all: Case[] = [];
  for (const group of ['onnx', 'signatures', 'secrets']) {
    for (const name of (await readdir(join(CORPUS, group))).sort()) {
      const meta = JSON.parse(await readFile(join(CORPUS, group, name, 'case.json'), 'utf8'));
      all.push({ group, name, ...meta });
    }
  }
  return all;
}

/** The staging policy of every case's repository: it trusts the corpus's test key, requires nothing. */
const POLICY = `apiVersion: modelship.dev/v1
kind: EnvironmentPolicy
metadata: { environment: staging }
signatures:
  trustedKeys: { hostile-test: keys/hostile-test.pub }
`;

let stack: TestStack;
let client: Client;
let audit: AuditStore;
const repos: TempRepo[] = [];
const all = await cases();

/** Deployed through DeployModel: one case of each group, and of each way its repository is built. */
const DEPLOYED = ['onnx/external-data-symlink-escape', 'signatures/untrusted-key', 'secrets/spec-with-token'];

const label = (entry: Case) => `${entry.group}/${entry.name}`;
const modelOf = (entry: Case) => `h-${entry.name}`.slice(0, 63).replace(/-+$/, '');

beforeAll(async () => {
  stack = await startTestStack('hostile-corpus');
  ({ client, audit } = stack);
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all(repos.map((repo) => repo.remove()));
});

/** A repository holding the case, committed, and the spec file that deploys it. */
async function repoFor(entry: Case, model: string): Promise<string> {
  const repo = await createTempRepo();
  repos.push(repo);
  await repo.copyFromProject('models/iris/holdout.csv');
  await repo.copyFromProject('test/fixtures/keys/hostile-test.pub', 'keys/hostile-test.pub');
  await repo.write('policies/staging.yaml', POLICY);
  const caseDir = join(CORPUS, entry.group, entry.name);
  if (entry.group === 'secrets' && entry.name === 'spec-with-token') {
    await repo.copyFromProject('models/iris/v2/model.onnx');
    const text = (await readFile(join(caseDir, 'spec.yaml'), 'utf8')).replace(
      /name: iris\n/,
      `name: ${model}\n`,
    );
    await repo.write(`specs/${model}.yaml`, text);
  } else {
    // The whole case directory (symlinks kept as symlinks), so `outside/` stays beside `model/`.
    await cp(caseDir, join(repo.root, 'models', 'hostile', entry.name), {
      recursive: true,
      verbatimSymlinks: true,
    });
    const source = `models/hostile/${entry.name}/model/model.onnx`;
    const bytes = await readFile(join(caseDir, 'model', 'model.onnx'));
    const signedBy = entry.group === 'signatures' ? '  security:\n    signedBy: [hostile-test]\n' : '';
    const spec = exampleSpecYaml({
      name: model,
      dataset: 'iris',
      version: 'v1',
      sha256: sha256Hex(bytes),
      analysis: signedBy,
    }).replace('models/iris/v1/model.onnx', source);
    await repo.write(`specs/${model}.yaml`, spec);
  }
  await repo.commit(`hostile case ${entry.group}/${entry.name}`);
  return join(repo.root, 'specs', `${model}.yaml`);
}

describe.concurrent('the hostile corpus, through the ship gates DeployModel runs', () => {
  it.each(all.map((entry) => [label(entry), entry] as const))(
    '%s passes resolving, then the ship gates refuse it with its finding, a domain failure',
    async (_, entry) => {
      const input = await loadDeploymentInput(await repoFor(entry, modelOf(entry)));
      // The worker's activities, wired as the worker wires them (the stack's home, audit and data plane).
      const activities = createActivities({ home: stack.home, audit, dataPlane: stack.dataPlane });
      const { deployment } = input;
      const spec = normaliseDurations(input.spec);

      // The resolving stage: the origin (none needed in staging), then the pinned artifact.
      await activities.authenticateOrigin({ deployment });
      const artifact = await activities.resolveArtifact({
        deployment,
        source: spec.spec.model.source,
        sha256: spec.spec.model.sha256,
      });
      // The scanning stage: one activity over every gate. Its refusal is what the run reports.
      const refusal = await activities
        .checkShipGates({ deployment, artifact, spec, specText: input.specText })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(refusal).toBeInstanceOf(ApplicationFailure);
      const failure = refusal as ApplicationFailure;
      expect(isDomainFailureType(failure.type), `failure type ${failure.type}`).toBe(true);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(entry.finding);
    },
  );
});

describe.concurrent('the hostile corpus, deployed', () => {
  const deployed = all.filter((entry) => DEPLOYED.includes(label(entry)));
  it('deploys one case of each group', () => {
    expect(deployed.map(label).sort()).toEqual([...DEPLOYED].sort());
  });

  it.each(deployed.map((entry) => [label(entry), entry] as const))(
    '%s is refused at the scan with its finding, nothing deployed, the audit saying why',
    async (_, entry) => {
      const model = modelOf(entry);
      const specFile = await repoFor(entry, model);
      const input = await loadDeploymentInput(specFile);
      const handle = await startDeployment(client, stack.taskQueue, input);
      const result = await handle.result();

      expect(result.outcome).toBe('rejected');
      expect(result.rejection?.step).toBe('scanning');
      expect(result.rejection?.message).toContain(entry.finding);

      // Nothing of it reached the data plane.
      const admin = createAdminClient({ baseUrl: stack.dataPlane.url, token: stack.dataPlane.adminToken });
      await expect(admin.state({ model })).rejects.toThrow(/404/);
      // The audit log has the rejection with the same reason.
      const records = await audit.list({ workflowId: handle.workflowId });
      const rejected = records.find((r) => r.step === 'deployment.rejected');
      expect(String(rejected?.details?.message)).toContain(entry.finding);
      expect(records.some((r) => r.step === 'validateModel')).toBe(false);
    },
  );
});
