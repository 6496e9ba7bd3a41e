/**
 * Records DeployModel (and Reconcile) histories for the replay tests (`test/replay/`): runs real deployments on
 * a throwaway dev server and saves each history as JSON. Re-record only on purpose, when a
 * workflow change is meant to be incompatible; otherwise the replay test is what catches it.
 *
 * A history that is already committed is kept: recording it again on today's code would erase
 * the older workflow code paths it pins (the `patched()` branches). So by default only the
 * missing files are recorded; `--only <file>` (repeatable) picks cases, `--force` overwrites.
 *
 *   npx tsx scripts/record-history.ts                  # record the cases that have no file yet
 *   npx tsx scripts/record-history.ts --only deploy-model-cancelled.json --force
 */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { openAuditStore } from '../audit/open.ts';
import { pendingScope } from '../cli/approval-proof.ts';
import { loadDeploymentInput } from '../cli/start-deployment.ts';
import { startDeployment } from '../gitops/start-deployment.ts';
import { reconcileWorkflowId, runReconcile } from '../gitops/start-reconcile.ts';
import { newApprovalStatement, signApproval } from '../supply-chain/identity/sign-approval.ts';
import { generateSigningKeyPair } from '../supply-chain/signing/keys.ts';
import { startTestDataPlane } from '../test/support/data-plane.ts';
import { createTempRepo, type TempRepo } from '../test/support/git-repo.ts';
import { type ExampleSpecOptions, exampleSpecYaml } from '../test/support/model-catalog.ts';
import { repoPath } from '../test/support/paths.ts';
import { startDevServer } from '../worker/dev-server.ts';
import { createModelshipWorker } from '../worker/worker.ts';
import type { DeployModel } from '../workflows/deploy-model.ts';
import type { PipelineStage } from '../workflows/deployment-state.ts';
import { type ApproveMessage, approveSignal, approveUpdate, statusQuery } from '../workflows/messages.ts';

type Handle = WorkflowHandle<typeof DeployModel>;

interface Case {
  file: string;
  spec: ExampleSpecOptions;
  /** Deployed first (and waited for), so that `spec` becomes a candidate next to it. */
  before?: ExampleSpecOptions;
  /** Files committed to the repository before anything is deployed (a policy, public keys). */
  files?: Record<string, string>;
  /** Talks to the run while it goes (updates, signals, cancel); the script then waits for its result. */
  drive?: (handle: Handle) => Promise<void>;
  /** The outcome the run must end with, or the recording is refused. */
  expect: string;
  /**
   * Records another workflow than the deployment: started once the deployment has ended, its
   * handle returned after it has closed (a Reconcile pass after the data plane forgot a model).
   */
  recordAfter?: (repo: TempRepo) => Promise<WorkflowHandle>;
}

const CASES: Case[] = [
  {
    file: 'deploy-model-serving.json',
    spec: { name: 'iris', dataset: 'iris', version: 'v2' },
    expect: 'serving',
  },
  {
    file: 'deploy-model-rejected.json',
    spec: { name: 'iris-inaccurate', dataset: 'iris', version: 'bad-accuracy' },
    expect: 'rejected',
  },
  {
    // A staged rollout: a weight, a pause, an approval nobody gives in time, the rollback.
    file: 'deploy-model-rolled-back.json',
    before: { name: 'iris-rollout', dataset: 'iris', version: 'v1', minAccuracy: 0.8 },
    spec: {
      name: 'iris-rollout',
      dataset: 'iris',
      version: 'v2',
      minAccuracy: 0.8,
      steps: [
        'setWeight: 20',
        'pause: { duration: 1s }',
        'approval: { approvers: [alice], timeout: 1s }',
        'setWeight: 100',
      ],
    },
    expect: 'rolled-back',
  },
  {
    // Promoted after an approval, with refusals on the way: a refused update (not an approver),
    // a refused signal, both audited at once by the handler; then the accepted update. The
    // post-promotion window is short so that the release of the old stable is in the history.
    file: 'deploy-model-promoted-approval.json',
    before: { name: 'iris-approval', dataset: 'iris', version: 'v1', minAccuracy: 0.8 },
    spec: {
      name: 'iris-approval',
      dataset: 'iris',
      version: 'v2',
      minAccuracy: 0.8,
      postPromotionWindow: '500ms',
      steps: [
        'setWeight: 50',
        'pause: { duration: 500ms }',
        'approval: { approvers: [alice], timeout: 1m }',
        'setWeight: 100',
      ],
    },
    async drive(handle) {
      await waitForStage(handle, 'awaiting-approval');
      const refused = await handle
        .executeUpdate(approveUpdate, { args: [{ approver: 'mallory', decision: 'approve' }] })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      if (!(refused instanceof WorkflowUpdateFailedError))
        throw new Error(`mallory's approve update was not refused: ${String(refused)}`);
      await handle.signal(approveSignal, { approver: 'eve', decision: 'approve' });
      // The signal's refusal is audited by its handler; let it land before the accepted update.
      await waitFor('the refusal of eve to be audited', async () =>
        (await audit.list({ workflowId: handle.workflowId })).some(
          (record) => record.step === 'approval.refused' && record.actor === 'eve',
        ),
      );
      await handle.executeUpdate(approveUpdate, { args: [{ approver: 'alice', decision: 'approve' }] });
    },
    expect: 'promoted',
  },
  {
    // Cancelled during a pause (an operator, or a newer commit): the candidate is rolled back.
    file: 'deploy-model-cancelled.json',
    before: { name: 'iris-cancel', dataset: 'iris', version: 'v1', minAccuracy: 0.8 },
    spec: {
      name: 'iris-cancel',
      dataset: 'iris',
      version: 'v2',
      minAccuracy: 0.8,
      steps: ['setWeight: 20', 'pause: { duration: 10m }', 'setWeight: 100'],
    },
    async drive(handle) {
      await waitForStage(handle, 'paused');
      await handle.cancel();
    },
    expect: 'rolled-back',
  },
];

// alice's key pair for the signed-approval case; only its public half is committed to the test repo.
const alice = generateSigningKeyPair();

/** alice's statement for the step `handle` waits on, signed with `pem`. */
async function signedByAlice(handle: Handle, pem: string) {
  const scope = await pendingScope(handle);
  const statement = newApprovalStatement({ scope, approver: 'alice', decision: 'approve', now: new Date() });
  return { statement, proof: { type: 'signature' as const, signature: signApproval(statement, pem) } };
}

async function refused(handle: Handle, message: ApproveMessage, who: string): Promise<void> {
  const outcome = await handle.executeUpdate(approveUpdate, { args: [message] }).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof WorkflowUpdateFailedError))
    throw new Error(`${who} was not refused: ${String(outcome)}`);
}

CASES.push({
  // Approvals that must prove who approved (the policy names alice's key): a name alone and a
  // statement signed by another key are refused and audited; alice's signed statement promotes.
  file: 'deploy-model-signed-approval.json',
  files: {
    'keys/alice.pub': alice.publicKeyPem,
    'policies/staging.yaml':
      'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: staging }\nidentity:\n  approvers:\n    alice: { publicKey: keys/alice.pub }\n',
  },
  before: { name: 'iris-signed', dataset: 'iris', version: 'v1', minAccuracy: 0.8 },
  spec: {
    name: 'iris-signed',
    dataset: 'iris',
    version: 'v2',
    minAccuracy: 0.8,
    postPromotionWindow: '500ms',
    steps: ['setWeight: 50', 'approval: { approvers: [alice], timeout: 1m }', 'setWeight: 100'],
  },
  async drive(handle) {
    await waitForStage(handle, 'awaiting-approval');
    await refused(handle, { approver: 'alice', decision: 'approve' }, 'a name alone');
    await refused(
      handle,
      await signedByAlice(handle, generateSigningKeyPair().privateKeyPem),
      'a forged statement',
    );
    await handle.executeUpdate(approveUpdate, { args: [await signedByAlice(handle, alice.privateKeyPem)] });
  },
  expect: 'promoted',
});

CASES.push({
  // Reconcile on a worker in admin mode after the data plane forgot a model: the drift found,
  // the repair refused (admin routing cannot be rewritten) and the pass audited.
  file: 'reconcile-not-served.json',
  spec: { name: 'iris-reconcile', dataset: 'iris', version: 'v1' },
  expect: 'serving',
  async recordAfter(repo) {
    const forgot = await fetch(`${dataPlane.url}/admin/v1/models/iris-reconcile`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${dataPlane.adminToken}` },
    });
    if (!forgot.ok) throw new Error(`the data plane did not drop iris-reconcile: ${forgot.status}`);
    const report = await runReconcile(client, 'record', {
      environment: 'staging',
      repository: repo.root,
      specsDir: 'specs',
      repair: true,
    });
    if (!report.findings.some((finding) => finding.kind === 'not-served'))
      throw new Error(`reconcile found no drift: ${JSON.stringify(report.findings)}`);
    return client.workflow.getHandle(reconcileWorkflowId('staging'));
  },
});

const { values: options } = parseArgs({
  options: { only: { type: 'string', multiple: true }, force: { type: 'boolean', default: false } },
});
const unknown = (options.only ?? []).filter((file) => !CASES.some((c) => c.file === file));
if (unknown.length > 0) {
  console.error(`no such case: ${unknown.join(', ')} (cases: ${CASES.map((c) => c.file).join(', ')})`);
  process.exit(2);
}
const exists = (file: string) =>
  access(historyPath(file)).then(
    () => true,
    () => false,
  );
const selected: Case[] = [];
for (const c of CASES) {
  if (options.only && !options.only.includes(c.file)) continue;
  if (!options.force && (await exists(c.file))) {
    console.log(`kept ${c.file} (already recorded; --force to overwrite it)`);
    continue;
  }
  selected.push(c);
}
if (selected.length === 0) {
  console.log('nothing to record');
  process.exit(0);
}

function historyPath(file: string): string {
  return repoPath(`test/replay/histories/${file}`);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

function waitForStage(handle: Handle, stage: PipelineStage): Promise<void> {
  return waitFor(`stage ${stage}`, async () => (await handle.query(statusQuery)).stage === stage);
}

async function deploy(repo: TempRepo, spec: ExampleSpecOptions) {
  await repo.copyFromProject(`models/${spec.dataset}/${spec.version}/model.onnx`);
  await repo.copyFromProject(`models/${spec.dataset}/holdout.csv`);
  await repo.write(`specs/${spec.name}.yaml`, exampleSpecYaml(spec));
  await repo.commit(`deploy ${spec.version}`);
  const input = await loadDeploymentInput(join(repo.root, `specs/${spec.name}.yaml`));
  return startDeployment(client, 'record', input);
}

Runtime.install({ logger: new DefaultLogger('WARN') });
const server = await startDevServer();
const home = await mkdtemp(join(tmpdir(), 'modelship-record-'));
const audit = await openAuditStore(home);
const nativeConnection = await NativeConnection.connect({ address: server.address });
const client = new Client({ connection: await Connection.connect({ address: server.address }) });
const dataPlane = await startTestDataPlane();
const worker = await createModelshipWorker({
  connection: nativeConnection,
  namespace: 'default',
  taskQueue: 'record',
  home,
  audit,
  dataPlane: { url: dataPlane.url, adminToken: dataPlane.adminToken },
  client: async () => client,
});
const run = worker.run();
try {
  for (const { file, spec, before, files, drive, expect, recordAfter } of selected) {
    const repo = await createTempRepo();
    for (const [path, text] of Object.entries(files ?? {})) await repo.write(path, text);
    if (before) await (await deploy(repo, before)).result();
    const handle = await deploy(repo, spec);
    await drive?.(handle);
    const result = await handle.result();
    if (result.outcome !== expect)
      throw new Error(`${file}: expected ${expect}, got ${result.outcome}: ${result.summary}`);
    const recorded = recordAfter ? await recordAfter(repo) : handle;
    const history = await recorded.fetchHistory();
    await writeFile(historyPath(file), `${historyToJSON(history)}\n`);
    console.log(`recorded ${file}: ${recorded.workflowId} (${history.events?.length} events)`);
    await repo.remove();
  }
} finally {
  worker.shutdown();
  await run;
  await nativeConnection.close();
  await client.connection.close();
  await audit.close();
  await dataPlane.close();
  await server.stop();
  await rm(home, { recursive: true, force: true });
}
