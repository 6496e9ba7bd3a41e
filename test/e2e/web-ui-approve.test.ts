/**
 * A person approves a rollout in the Temporal Web UI, in a real (headless) Chromium: the run's
 * page, its User Metadata tab with the current details, the instructions there, and the "Send an
 * Update" dialog filled in exactly as those instructions say. Every control is found by the name
 * the instructions give it, so instructions that drift from the UI fail here.
 *
 * The environment's policy names alice's public key, so a name alone is refused: the panel says
 * to paste what `modelship approve --key … --print` prints, a statement signed for this run and
 * step. A forged paste (the statement changed after signing) is refused and audited at once.
 *
 * What the Web UI 2.54 dialog does, learnt by hand: Name is a list of the workflow's registered
 * updates (plus "Custom"); Data is a JSON editor whose one value becomes the update's only
 * argument (encoding json/plain); when the editor loses focus it re-indents the JSON, which moves
 * the Submit button, so the first click after pasting often lands on nothing and must be repeated.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { modelship } from '../gitops/helpers.ts';
import { type Browser, launchBrowser } from '../support/chromium.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

const alice = generateSigningKeyPair();
let stack: TestStack;
let browser: Browser;
let repo: TempRepo;

beforeAll(async () => {
  [stack, browser, repo] = await Promise.all([
    startTestStack('web-ui-approve'),
    launchBrowser(),
    createTempRepo(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await repo?.remove();
});

/** The frame of the "Current Details" panel (the Web UI renders each markdown in an iframe). */
async function detailsFrame(page: Page, containing: string): Promise<Frame> {
  let found: Frame | undefined;
  await expect
    .poll(
      async () => {
        for (const frame of page.frames()) {
          if (!frame.url().includes('/render?')) continue;
          const text = await frame
            .locator('main')
            .innerText({ timeout: 1_000 })
            .catch(() => '');
          if (text.includes(containing)) {
            found = frame;
            return true;
          }
        }
        return false;
      },
      { timeout: 15_000, interval: 250 },
    )
    .toBe(true);
  return found as Frame;
}

/** iris v1 serving, then v2 rolling out with an approval by alice between 50 % and 100 %. */
async function rolloutWaitingForAlice() {
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  await repo.write('keys/alice.pub', alice.publicKeyPem);
  await repo.write(
    'policies/staging.yaml',
    'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: staging }\nidentity:\n  approvers:\n    alice: { publicKey: keys/alice.pub }\n',
  );
  const spec = (version: string) =>
    exampleSpecYaml({
      name: 'iris-ui',
      dataset: 'iris',
      version,
      minAccuracy: 0.8,
      steps: ['setWeight: 50', 'approval: { approvers: [alice], timeout: 5m }', 'setWeight: 100'],
      postPromotionWindow: '1s',
    });
  const specFile = join(repo.root, 'specs/iris-ui.yaml');
  await repo.write('specs/iris-ui.yaml', spec('v1'));
  await repo.commit('v1');
  const first = await startDeployment(stack.client, stack.taskQueue, await loadDeploymentInput(specFile));
  expect((await first.result()).outcome).toBe('serving');
  await repo.write('specs/iris-ui.yaml', spec('v2'));
  await repo.commit('v2');
  const handle = await startDeployment(stack.client, stack.taskQueue, await loadDeploymentInput(specFile));
  await expect
    .poll(async () => (await handle.query(statusQuery)).stage, { timeout: 30_000, interval: 200 })
    .toBe('awaiting-approval');
  return handle;
}

/** Runs the command the details panel gives, as alice would: `npx modelship` is this checkout's CLI. */
async function runShown(command: string, keyFile: string): Promise<string> {
  const args = command
    .replace(/^npx modelship /, '')
    .replace('<your-private-key.pem>', keyFile)
    .split(' ');
  const run = await modelship(args, REPO_ROOT, { TEMPORAL_ADDRESS: inject('temporalAddress') });
  if (run.code !== 0) throw new Error(`${command}: ${run.stderr}`);
  return run.stdout;
}

describe('approving in the Temporal Web UI', () => {
  it('follows the details panel: More Actions, Send an Update, approve, the pasted signed statement, Submit', async () => {
    const handle = await rolloutWaitingForAlice();
    const { page } = browser;
    const updates: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/update/')) updates.push(request.url());
    });

    // The link `modelship dev` and `apply` print for a waiting run.
    const runId = (await handle.describe()).runId;
    await page.goto(
      `${inject('temporalUiAddress')}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}/${runId}/history`,
    );
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    const details = await detailsFrame(page, 'To approve in this Web UI');
    const howTo = details.locator('p', { hasText: 'To approve in this Web UI' });
    // Bold: the controls to press, in order; code: the update name, then the input to paste.
    const [, menu = '', action = '', submitLabel = ''] = await howTo.locator('strong').allInnerTexts();
    const [updateName = '', command = ''] = await howTo.locator('code').allInnerTexts();
    expect([menu, action, submitLabel]).toEqual(['More Actions', 'Send an Update', 'Submit']);
    expect(updateName).toBe('approve');
    expect(command).toBe(
      'npx modelship approve iris-ui --env staging --as alice --key <your-private-key.pem> --print',
    );
    const keyFile = join(repo.root, '..', `alice-${process.pid}.key`);
    await writeFile(keyFile, alice.privateKeyPem, { mode: 0o600 });
    const signed = await runShown(command, keyFile);
    const statement = JSON.parse(signed) as { statement: Record<string, unknown> };
    expect(statement.statement).toMatchObject({ workflowId: handle.workflowId, approver: 'alice', step: 2 });

    /** Sends `input` through the dialog, as the panel says; true when the UI says it succeeded. */
    const sendUpdate = async (input: string): Promise<boolean> => {
      await page.getByRole('button', { name: menu }).click();
      await page.getByRole('menuitem', { name: action }).click();
      const dialog = page.locator('dialog[open]');
      await dialog.getByTestId('update-select-button').click();
      await dialog.getByRole('option', { name: updateName, exact: true }).click();
      await dialog.getByRole('textbox', { name: 'Data' }).click();
      await page.keyboard.press('ControlOrMeta+A');
      // What a paste does (headless Chromium has no system clipboard to paste from).
      await page.keyboard.insertText(input);
      const submit = dialog.getByRole('button', { name: submitLabel });
      // Listening before the click: the answer may come back before a listener added later would
      // be in place. The update's handler runs activities (verify, audit), slow on a loaded machine.
      const answered = page.waitForResponse((answer) => answer.url().includes('/update/'), {
        timeout: 60_000,
      });
      const sent = page.waitForRequest((request) => request.url().includes('/update/'), { timeout: 2_000 });
      await submit.click();
      // The instructions warn that the first click may only re-indent the JSON: then click again.
      if (!(await sent.then(() => true).catch(() => false))) await submit.click();
      const response = await answered;
      // The Web UI's API answers 200 for an update the workflow refused, with the failure inside.
      return response.ok() && !(await response.text()).includes('"failure"');
    };

    // A forger who changes the signed statement (here: who it names) is refused and audited.
    const forged = signed.replace('"approver": "alice"', '"approver": "mallory"');
    expect(await sendUpdate(forged)).toBe(false);
    await expect
      .poll(async () =>
        (await stack.audit.list({ workflowId: handle.workflowId })).map((record) => record.step),
      )
      .toContain('approval.refused');
    const refused = (await stack.audit.list({ workflowId: handle.workflowId })).find(
      (record) => record.step === 'approval.refused',
    );
    expect(refused?.actor).toBe('mallory');
    expect(JSON.stringify(refused)).toMatch(/proofFingerprint/);
    expect((await handle.query(statusQuery)).stage).toBe('awaiting-approval');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);

    expect(await sendUpdate(signed)).toBe(true);
    await expect.poll(() => page.getByText('Update successful').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(updates).toHaveLength(2);
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);

    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    expect((await handle.query(statusQuery)).stage).toBe('promoted');
    const records = await stack.audit.list({ workflowId: handle.workflowId });
    expect(records.find((record) => record.step === 'approval.approved')?.actor).toBe('alice');

    // R refreshes the details, as the instructions say: the panel now tells the outcome.
    await page.keyboard.press('r');
    const after = await detailsFrame(page, 'Promoted');
    expect(await after.locator('main').innerText()).toContain('approved by alice');
  });
});
