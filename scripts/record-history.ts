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
import { loadDeploymentInput, startDeployment } from '../cli/start-deployment.ts';
import { createTempRepo } from '../test/support/git-repo.ts';
import { exampleSpecYaml } from '../test/support/model-catalog.ts';
import { repoPath } from '../test/support/paths.ts';
import { startTestDataPlane } from '../test/support/data-plane.ts';
import { startDevServer } from '../worker/dev-server.ts';
import { createModelshipWorker } from '../worker/worker.ts';

const CASES = [
  { file: 'deploy-model-serving.json', spec: { name: 'iris', dataset: 'iris', version: 'v2' } },
  {
    file: 'deploy-model-rejected.json',
    spec: { name: 'iris-inaccurate', dataset: 'iris', version: 'bad-accuracy' },
  },
] as const;

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
  for (const { file, spec } of CASES) {
    const repo = await createTempRepo();
    await repo.copyFromProject(`models/${spec.dataset}/${spec.version}/model.onnx`);
    await repo.copyFromProject(`models/${spec.dataset}/holdout.csv`);
    await repo.write(`specs/${spec.name}.yaml`, exampleSpecYaml(spec));
    await repo.commit('record');
    const handle = await startDeployment(
      client,
      'record',
      await loadDeploymentInput(join(repo.root, `specs/${spec.name}.yaml`)),
    );
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
