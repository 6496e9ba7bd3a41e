/**
 * Records DeployModel histories for the replay tests (`test/replay/`): runs real deployments on
 * a throwaway dev server and saves each history as JSON. Re-record only on purpose, when a
 * workflow change is meant to be incompatible; otherwise the replay test is what catches it.
 *
 *   npx tsx scripts/record-history.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { openAuditStore } from '../audit/open.ts';
import { loadDeploymentInput } from '../cli/start-deployment.ts';
import { startDeployment } from '../gitops/start-deployment.ts';
import { startTestDataPlane } from '../test/support/data-plane.ts';
import { createTempRepo, type TempRepo } from '../test/support/git-repo.ts';
import { type ExampleSpecOptions, exampleSpecYaml } from '../test/support/model-catalog.ts';
import { repoPath } from '../test/support/paths.ts';
import { startDevServer } from '../worker/dev-server.ts';
import { createModelshipWorker } from '../worker/worker.ts';

interface Case {
  file: string;
  spec: ExampleSpecOptions;
  /** Deployed first (and waited for), so that `spec` becomes a candidate next to it. */
  before?: ExampleSpecOptions;
}

const CASES: Case[] = [
  { file: 'deploy-model-serving.json', spec: { name: 'iris', dataset: 'iris', version: 'v2' } },
  {
    file: 'deploy-model-rejected.json',
    spec: { name: 'iris-inaccurate', dataset: 'iris', version: 'bad-accuracy' },
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
  },
];

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
});
const run = worker.run();
try {
  for (const { file, spec, before } of CASES) {
    const repo = await createTempRepo();
    if (before) await (await deploy(repo, before)).result();
    const handle = await deploy(repo, spec);
    const result = await handle.result();
    const history = await handle.fetchHistory();
    await writeFile(repoPath(`test/replay/histories/${file}`), `${historyToJSON(history)}\n`);
    console.log(`recorded ${file}: ${result.outcome} (${history.events?.length} events)`);
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
