/**
 * Replays committed DeployModel and Reconcile histories against today's workflow code. A failure here means a
 * change would break workflows already running in production: guard it with `patched()`, or
 * re-record deliberately with `npx tsx scripts/record-history.ts --only <file> --force`. New cases
 * are recorded with the same script, which keeps the files that already exist.
 *
 * The code is the run's one workflow bundle (`sharedWorkflowBundle()`), built from the current
 * sources by the global setup; one replay worker replays every history, each on its own.
 */
import { readFile } from 'node:fs/promises';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { type ReplayResult, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedWorkflowBundle } from '../support/workflow-bundle.ts';

const FILES = [
  'deploy-model-serving.json',
  'deploy-model-rejected.json',
  'deploy-model-rolled-back.json',
  // Recorded on the code with every patch taken: one ship-gate activity, refusals audited by
  // the handler (a refused update and a refused signal before the approval), durations in ms.
  'deploy-model-promoted-approval.json',
  'deploy-model-cancelled.json',
  // Verified origin and approvals (patches verified-origin, verified-approvals): a name alone
  // and a forged statement refused, then alice's signed statement.
  'deploy-model-signed-approval.json',
  // Reconcile (workflows/reconcile.ts): a pass that found a model the data plane forgot.
  'reconcile-not-served.json',
];

const histories = new Map<string, Awaited<ReturnType<typeof historyFromJSON>>>();
const results = new Map<string, ReplayResult>();

beforeAll(async () => {
  for (const file of FILES) {
    const json = JSON.parse(await readFile(new URL(`./histories/${file}`, import.meta.url), 'utf8'));
    histories.set(file, historyFromJSON(json));
  }
  const workflowBundle = await sharedWorkflowBundle();
  const replays = Worker.runReplayHistories(
    { workflowBundle, replayName: 'deploy-model-histories' },
    FILES.map((file) => ({ workflowId: file, history: histories.get(file) })),
  );
  for await (const result of replays) results.set(result.workflowId, result);
});

describe('DeployModel replay', () => {
  for (const file of FILES) {
    it(`replays ${file} deterministically`, () => {
      expect(histories.get(file)?.events?.length).toBeGreaterThan(10);
      const result = results.get(file);
      expect(result, `no replay result for ${file}`).toBeDefined();
      if (result?.error) throw result.error;
    });
  }
});
