/**
 * `modelship status` when running rollouts cannot answer: their worker is gone, so each status
 * query runs to its deadline. Every such row must say so, and the list must not cost a deadline
 * per row (a server with many orphaned runs would otherwise take minutes to list).
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QUERY_DEADLINE_MS } from '../../cli/commands/status.ts';
import { deployModelWorkflowId, deploymentLabel } from '../../domain/deployment.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { repoPath } from '../support/paths.ts';

/** More orphaned runs than one deadline each would allow in the bound below (8 × 5 s = 40 s). */
const ORPHANS = 8;

const address = inject('temporalAddress');
const suffix = randomUUID().slice(0, 8);
// A task queue no worker polls: the runs start, and no one ever answers for them.
const taskQueue = `no-worker-${suffix}`;
const keys = Array.from({ length: ORPHANS }, (_, index) => ({
  model: `orphan-${index}-${suffix}`,
  environment: `status-${suffix}`,
}));
let client: Client;

beforeAll(async () => {
  client = new Client({ connection: await Connection.connect({ address }) });
  for (const key of keys) {
    await client.workflow.start('DeployModel', {
      taskQueue,
      workflowId: deployModelWorkflowId(key),
      args: [],
    });
  }
});

afterAll(async () => {
  await Promise.all(
    keys.map((key) =>
      client.workflow
        .getHandle(deployModelWorkflowId(key))
        .terminate('test over')
        .catch(() => undefined),
    ),
  );
  await client?.connection.close();
});

describe('modelship status with runs that cannot answer', () => {
  it('names every run whose worker is gone, asking them side by side rather than one deadline each', async () => {
    const started = Date.now();
    const status = await runModelship(['status', '--json'], {
      cwd: repoPath('.'),
      env: { TEMPORAL_ADDRESS: address, MODELSHIP_TASK_QUEUE: taskQueue },
    });
    const elapsedMs = Date.now() - started;
    expect(status.status, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as { deployment: string; state: string; note?: string }[];
    for (const key of keys) {
      const row = rows.find((candidate) => candidate.deployment === deploymentLabel(key));
      expect(row, deploymentLabel(key)).toMatchObject({ state: 'running' });
      expect(row?.note).toContain('no answer to the status query (is a modelship worker running?)');
    }
    // One after another, the orphans alone would take ORPHANS deadlines.
    expect(elapsedMs).toBeLessThan((ORPHANS * QUERY_DEADLINE_MS) / 2 + 10_000);
  });
});
