/**
 * The production-like stack on one host, as an operator runs it: `modelship stack up --stand-ins`
 * (every image built here from Debian's and PyPI's packages, nothing from Docker Hub), then
 * deployments applied from a throwaway Git repository the workers fetch over HTTP: iris v1
 * deployed to staging; v2 promoted through an approval signed with alice's key while one data-plane container
 * is killed with `docker kill` and the healer brings it back, clients calling the load balancer the
 * whole time; a bad version rolled back; the audit log in the stack's PostgreSQL verified; and
 * `stack down --volumes` leaving no container, volume or network. `npm run test:stack`; needs a
 * running Docker engine and docker-compose (`.ci/run` installs and starts them).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../containers/process.ts';
import { stackLeftovers, stackServices } from '../../containers/stack.ts';
import { STACK_PORT_DEFAULTS } from '../../containers/stack-settings.ts';
import { openDesiredStateStore } from '../../desired-state/open.ts';
import type { DesiredStateStore } from '../../desired-state/store.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import { freePort } from '../../worker/dev-server.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { eventually, scratchDir } from '../serving/support.ts';
import { irisRepo } from '../support/fleet.ts';
import { type GitHttpServer, pushToBare, startGitHttpServer } from '../support/git-http-server.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { type IrisClients, startIrisClients } from '../support/iris-clients.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { repoPath } from '../support/paths.ts';

const PROJECT = `mstest${process.pid}`;
const MODEL = 'stack-iris';
// Staging: production also asks for an authenticated origin (GitHub Actions' OIDC token), which a
// test cannot mint; the stack's replicas follow the environment MODELSHIP_STACK_ENVIRONMENT names.
const ENVIRONMENT = 'staging';
const env: Record<string, string> = {};
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let repo: TempRepo;
let git: GitHttpServer;
let repositoryUrl: string;
let client: Client;
let connection: Connection;
let desired: DesiredStateStore;
let head = '0000000000000000000000000000000000000000';

const port = (name: keyof typeof STACK_PORT_DEFAULTS) => env[name];
const modelship = (args: string[]) => runModelship(args, { cwd: repo?.root ?? repoPath('.'), env });

/** Writes the spec at `version`, commits, pushes and runs `modelship apply` for the change. */
async function applyVersion(version: 'v1' | 'v2' | 'bad-disagree', steps: string[], wait: boolean) {
  await repo.write(
    'specs/iris.yaml',
    exampleSpecYaml({
      name: MODEL,
      dataset: 'iris',
      version,
      minAccuracy: 0.8,
      postPromotionWindow: '1s',
      environment: ENVIRONMENT,
      steps,
    }),
  );
  const base = head;
  head = await repo.commit(`iris ${version}`);
  await pushToBare(repo, join(scratch.path, 'git'), 'models');
  return modelship([
    'apply',
    '--base',
    base,
    '--head',
    head,
    '--repository',
    repositoryUrl,
    ...(wait ? [] : ['--no-wait']),
  ]);
}

beforeAll(async () => {
  scratch = await scratchDir();
  // Ports of their own, so the stack never meets another server on this machine.
  const ports = new Set<number>();
  for (const name of Object.keys(STACK_PORT_DEFAULTS)) {
    let chosen = await freePort();
    while (ports.has(chosen)) chosen = await freePort();
    ports.add(chosen);
    env[name] = String(chosen);
  }
  Object.assign(env, {
    MODELSHIP_STACK_DIR: join(scratch.path, 'stack'),
    MODELSHIP_STACK_ENVIRONMENT: ENVIRONMENT,
    COMPOSE_PROJECT_NAME: PROJECT,
    TEMPORAL_ADDRESS: `127.0.0.1:${port('MODELSHIP_STACK_TEMPORAL_PORT')}`,
    MODELSHIP_TASK_QUEUE: 'modelship',
    MODELSHIP_AUDIT_URL: `postgres://modelship:modelship@127.0.0.1:${port('MODELSHIP_STACK_POSTGRES_PORT')}/modelship`,
  });

  const up = await runModelship(['stack', 'up', '--stand-ins', '--timeout', '300'], {
    cwd: repoPath('.'),
    env,
  });
  if (up.status !== 0) throw new Error(`stack up failed (${up.status}):\n${up.stderr.slice(-4000)}`);
  expect(up.stderr).toMatch(/all 10 services up in/);

  repo = await irisRepo('modelship-stack-e2e-');
  await repo.copyFromProject('models/iris/bad-disagree/model.onnx');
  // Production takes approvals signed by alice's key only.
  const alice = generateSigningKeyPair();
  await writeFile(join(scratch.path, 'alice.key'), alice.privateKeyPem);
  await repo.write('keys/alice.pub', alice.publicKeyPem);
  await repo.write(
    `policies/${ENVIRONMENT}.yaml`,
    `apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata:\n  environment: ${ENVIRONMENT}\nidentity:\n  approvers:\n    alice: { publicKey: keys/alice.pub }\n`,
  );
  git = await startGitHttpServer({ root: join(scratch.path, 'git') });
  repositoryUrl = git.url('models');
  connection = await Connection.connect({ address: String(env.TEMPORAL_ADDRESS) });
  client = new Client({ connection });
  desired = await openDesiredStateStore({ url: env.MODELSHIP_AUDIT_URL, postgres: { pollIntervalMs: 500 } });
}, 600_000);

afterAll(async () => {
  await desired?.close();
  await connection?.close();
  await git?.close();
  // Whatever happened, the machine is left clean.
  if (scratch) await runModelship(['stack', 'down', '--volumes'], { cwd: repoPath('.'), env });
  await repo?.remove();
  await scratch?.remove();
}, 180_000);

const APPROVAL = 'approval: { approvers: [alice], timeout: 10m }';

/**
 * Waits until the run asks alice and approves as she would, with the CLI and her key; a run that
 * ends without asking (a first deployment has nothing to compare and goes straight to serving)
 * is returned as it is. Resolves to the run's outcome and whether alice approved.
 */
async function approveWhenAsked() {
  const handle = client.workflow.getHandle(`deploy/${ENVIRONMENT}/${MODEL}`);
  let asked = false;
  await eventually(async () => {
    if ((await handle.describe()).status.name !== 'RUNNING') return true;
    asked = (await handle.query(statusQuery)).waitingFor !== undefined;
    return asked;
  }, 120_000);
  if (asked) {
    const approved = await modelship([
      'approve',
      MODEL,
      '--env',
      ENVIRONMENT,
      '--as',
      'alice',
      '--key',
      join(scratch.path, 'alice.key'),
    ]);
    expect(approved.stderr).toBe('');
    expect(approved.status).toBe(0);
  }
  const { outcome } = (await handle.result()) as { outcome: string };
  return { outcome, approved: asked };
}

// Every version goes through alice's approval, as the environment's policy names her key.
describe.sequential('the compose stack, end to end', () => {
  let clients: IrisClients;
  let first: string | undefined;
  let promoted: string | undefined;

  it('deploys v1 applied from a throwaway repository the workers fetch', async () => {
    const applied = await applyVersion('v1', [APPROVAL, 'setWeight: 100'], false);
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);
    expect(['serving', 'promoted']).toContain((await approveWhenAsked()).outcome);
    first = (await desired.read(ENVIRONMENT)).models[MODEL]?.stable.version;
    expect(first).toBeDefined();
    await eventually(
      async () =>
        (
          await fetch(
            `http://127.0.0.1:${port('MODELSHIP_STACK_LOADBALANCER_PORT')}/v2/models/${MODEL}/ready`,
          )
        ).status === 200,
      30_000,
    );
  });

  it('promotes v2 through a signed approval while a killed replica container is healed, no client request failing', async () => {
    clients = startIrisClients(
      `http://127.0.0.1:${port('MODELSHIP_STACK_LOADBALANCER_PORT')}/v2/models/${MODEL}/infer`,
      2,
    );
    const applied = await applyVersion(
      'v2',
      [
        'setWeight: 50',
        'pause: { duration: 8s }',
        'approval: { approvers: [alice], timeout: 10m }',
        'setWeight: 100',
      ],
      false,
    );
    expect(applied.status).toBe(0);
    await eventually(
      async () => (await desired.read(ENVIRONMENT)).models[MODEL]?.canary?.weight === 50,
      120_000,
    );

    const replica2 = async () =>
      (await stackServices(PROJECT)).find((service) => service.service === 'replica-2');
    const before = await replica2();
    const killed = await runCommand('docker', ['kill', `${PROJECT}_replica-2_1`]);
    expect(killed.code).toBe(0);
    // Docker leaves a killed container stopped; the healer starts it again (a new start time),
    // and it becomes healthy on its own.
    await eventually(async () => {
      const replica = await replica2();
      return (
        replica !== undefined &&
        before !== undefined &&
        replica.startedAt > before.startedAt &&
        replica.state === 'running' &&
        replica.health === 'healthy'
      );
    }, 90_000);
    const healerLog = await runCommand('docker', ['logs', `${PROJECT}_healer_1`]);
    expect(healerLog.output).toContain('healer: replica-2 was killed (exit 137): starting it');

    expect(await approveWhenAsked()).toEqual({ outcome: 'promoted', approved: true });

    // Both replicas, the healed one included, serve the promoted version.
    const state = await desired.read(ENVIRONMENT);
    promoted = state.models[MODEL]?.stable.version;
    expect(promoted).toBeDefined();
    expect(promoted).not.toBe(first);
    await eventually(async () => {
      const { reports } = await desired.replicas(ENVIRONMENT);
      return reports.filter((report) => report.serving >= state.generation).length === 2;
    }, 60_000);
    expect(clients.outcomes.failed).toEqual([]);
    expect(clients.outcomes.ok).toBeGreaterThan(100);

    // Ground truth through the balancer: a label sent back against the prediction id of an answer
    // is taken by whichever replica the balancer picks, with the stack's feedback token.
    const lb = `http://127.0.0.1:${port('MODELSHIP_STACK_LOADBALANCER_PORT')}/v2/models/${MODEL}`;
    const answer = await fetch(`${lb}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
      }),
    });
    expect(answer.status).toBe(200);
    const predictionId = answer.headers.get('x-modelship-prediction-id');
    expect(predictionId).toBeTruthy();
    const token = (await readFile(join(scratch.path, 'stack', 'secrets', 'feedback-token'), 'utf8')).trim();
    const feedback = await fetch(`${lb}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ labels: [{ prediction_id: predictionId, label: 0 }] }),
    });
    expect(feedback.status).toBe(200);
    expect(await feedback.json()).toMatchObject({ accepted: 1 });
  });

  it('rolls a bad version back, and the audit log in PostgreSQL verifies', async () => {
    const applied = await applyVersion(
      'bad-disagree',
      ['shadow: { duration: 15s, minAgreement: 0.95 }', 'setWeight: 50', APPROVAL, 'setWeight: 100'],
      true,
    );
    await clients.stop();
    expect(applied.status).toBe(1);
    expect(applied.stdout + applied.stderr).toMatch(/rolled.back/);
    const state = await desired.read(ENVIRONMENT);
    expect(state.models[MODEL]).toMatchObject({ stable: { version: promoted }, canary: null, shadow: null });
    expect(clients.outcomes.failed).toEqual([]);

    const verified = await modelship(['audit', 'verify']);
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
    expect(verified.stdout).toMatch(/ok|verified/i);
  });

  it('stack down --volumes leaves no container, volume or network behind', async () => {
    const down = await runModelship(['stack', 'down', '--volumes'], { cwd: repoPath('.'), env });
    expect(down.status).toBe(0);
    expect(await stackLeftovers(PROJECT)).toEqual({ containers: [], volumes: [], networks: [] });
  });
});
