/**
 * Replays committed DeployModel histories against today's workflow code. A failure here means a
 * change would break workflows already running in production: guard it with `patched()`, or
 * re-record deliberately with `npx tsx scripts/record-history.ts --only <file> --force`. New cases
 * are recorded with the same script, which keeps the files that already exist.
 */
import { readFile } from 'node:fs/promises';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../worker/worker.ts';

let bundle: WorkflowBundle;

beforeAll(async () => {
  bundle = await bundleWorkflows();
});

describe('DeployModel replay', () => {
  for (const file of [
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
  ]) {
    it(`replays ${file} deterministically`, async () => {
      const json = JSON.parse(await readFile(new URL(`./histories/${file}`, import.meta.url), 'utf8'));
      const history = historyFromJSON(json);
      expect(history.events?.length).toBeGreaterThan(10);
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history),
      ).resolves.toBeUndefined();
    });
  }
});
