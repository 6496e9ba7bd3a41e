/**
 * FAST tier, stubbed pipeline (`test/support/stub-activities.ts`) but the REAL verifier: the
 * `verifyApproval` and `authenticateOrigin` stubs call `supply-chain/identity/` with a production
 * policy that lists alice's public key and trusts a local OIDC issuer. Approvals arrive as a raw
 * Temporal client (or the Web UI) sends them, and through `modelship approve --key` itself.
 * Each refusal must reach the audit log at once with the claimed name, the reason and the
 * proof's fingerprint, and the rollout must keep waiting for a real approval.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { pendingScope } from '../../cli/approval-proof.ts';
import type { ApprovalStatement, SignedApproval } from '../../domain/approval-statement.ts';
import { newApprovalStatement, signApproval } from '../../supply-chain/identity/sign-approval.ts';
import { type IdentityTrust, verifyApproval } from '../../supply-chain/identity/verify-approval.ts';
import { verifyOrigin } from '../../supply-chain/identity/verify-origin.ts';
import { parsePolicy } from '../../supply-chain/policy/load.ts';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import type { DeployModel } from '../../workflows/deploy-model.ts';
import { type ApproveMessage, approveUpdate, statusQuery } from '../../workflows/messages.ts';
import { modelship as runModelship } from '../gitops/helpers.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';
import { REPO_ROOT } from '../support/paths.ts';
import type { StubRun, StubScript } from '../support/stub-activities.ts';
import {
  type StubStack,
  startStubbedDeployment,
  startStubStack,
  waitForStage,
} from '../support/stub-stack.ts';

const alice = generateSigningKeyPair();
const mallory = generateSigningKeyPair();
let stack: StubStack;
let issuer: TestIssuer;
let trust: IdentityTrust;
let scratch: string;

beforeAll(async () => {
  [stack, issuer, scratch] = await Promise.all([
    startStubStack('approval-proof'),
    startTestIssuer(),
    mkdtemp(join(tmpdir(), 'approval-proof-')),
  ]);
  const parsed = parsePolicy(`apiVersion: modelship.dev/v1
kind: EnvironmentPolicy
metadata: { environment: production }
identity:
  issuers:
    github-actions: { issuer: "${issuer.issuer}", audience: modelship, jwks: "${issuer.jwksUrl}", claim: actor, requireNonce: false }
  approvers:
    alice: { publicKey: keys/alice.pub, identities: [alice-gh] }
    bob: { identities: [bob-gh] }
`);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  trust = {
    environment: 'production',
    identity: parsed.policy.identity,
    approverKeys: { alice: alice.publicKeyPem },
    jwksFiles: {},
  };
  await writeFile(join(scratch, 'alice.key'), alice.privateKeyPem, { mode: 0o600 });
  await writeFile(join(scratch, 'mallory.key'), mallory.privateKeyPem, { mode: 0o600 });
});

afterAll(async () => {
  await stack?.stop();
  await issuer?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The real verifiers behind the stub pipeline, with `originToken` presented as apply would. */
function verifying(originToken?: string): StubScript {
  return {
    verifyApproval: (input) => verifyApproval({ ...input, now: new Date() }, trust),
    authenticateOrigin: async (input) => {
      const verdict = await verifyOrigin(
        { token: originToken, commit: input.deployment.commit, now: new Date() },
        trust,
      );
      if (!verdict.ok) throw ApplicationFailure.nonRetryable(verdict.reason, 'OriginUnverified');
      return { origin: verdict.origin, unsignedApprovals: trust.identity.unsignedApprovals ?? 'allow' };
    },
  };
}

/** A GitHub-Actions-shaped origin token for the stub commit, started by `actor`. */
const originBy = (actor: string) =>
  issuer.issue({ actor, repository: 'acme/models', sha: 'c0ffee00'.repeat(5) });

async function atApproval(model: string, originToken?: string, steps = 1) {
  originToken ??= await originBy('dana');
  const approvals = Array.from({ length: steps }, () => 'approval: { approvers: [alice, bob], timeout: 1m }');
  const started = await startStubbedDeployment(stack, {
    model,
    environment: 'production',
    steps: ['setWeight: 10', ...approvals, 'setWeight: 100'],
    script: verifying(originToken),
  });
  await waitForStage(started.handle, 'awaiting-approval');
  return started;
}

/** A statement for the step `handle` waits on, signed with `pem`. */
async function signedFor(
  handle: WorkflowHandle<typeof DeployModel>,
  pem: string,
  overrides: Partial<ApprovalStatement> = {},
): Promise<SignedApproval> {
  const statement = {
    ...newApprovalStatement({
      scope: await pendingScope(handle),
      approver: 'alice',
      decision: 'approve',
      now: new Date(),
    }),
    ...overrides,
  };
  return { statement, proof: { type: 'signature', signature: signApproval(statement, pem) } };
}

async function refusal(handle: WorkflowHandle<typeof DeployModel>, message: ApproveMessage): Promise<string> {
  const outcome = await handle
    .executeUpdate(approveUpdate, { args: [message] })
    .then((receipt) => new Error(`accepted: ${JSON.stringify(receipt)}`))
    .catch((error: unknown) => error);
  if (!(outcome instanceof WorkflowUpdateFailedError)) throw outcome;
  return String(outcome.cause?.message);
}

function refusals(run: StubRun) {
  return run.inputsOf('recordDecision').filter((input) => input.decision === 'approval.refused');
}

/** `modelship <args>` against the shared test server, as an approver runs it. */
const modelship = (args: string[]) =>
  runModelship(args, REPO_ROOT, { TEMPORAL_ADDRESS: inject('temporalAddress') });

describe.concurrent('approvals with proof in production (real verifier, stubbed pipeline)', () => {
  it('refuses free text, forged, mis-scoped and expired statements, audits each with its fingerprint, then takes a signed one', async ({
    expect,
  }) => {
    const { handle, run } = await atApproval('proof-update');
    expect(await refusal(handle, { approver: 'alice', decision: 'approve' })).toMatch(
      /^missing: an approval in production must carry proof/,
    );
    const forged = await signedFor(handle, mallory.privateKeyPem);
    expect(await refusal(handle, forged)).toMatch(
      /^forged: the signature does not verify with alice's public key/,
    );
    const otherRun = await signedFor(handle, alice.privateKeyPem, { runId: 'another-run' });
    expect(await refusal(handle, otherRun)).toMatch(/^wrong-scope: .*runId is "another-run"/);
    const stale = await signedFor(handle, alice.privateKeyPem, {
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(await refusal(handle, stale)).toMatch(/^expired: the statement expired/);

    const audited = refusals(run);
    expect(audited.map((input) => input.actor)).toEqual(['alice', 'alice', 'alice', 'alice']);
    expect(audited[0]?.details).not.toHaveProperty('proofFingerprint');
    for (const input of audited.slice(1)) {
      expect(input.details).toMatchObject({
        claimed: true,
        via: 'update',
        proofFingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
    }
    expect((await handle.query(statusQuery)).stage).toBe('awaiting-approval');

    const receipt = await handle.executeUpdate(approveUpdate, {
      args: [await signedFor(handle, alice.privateKeyPem)],
    });
    expect(receipt).toMatchObject({ approver: 'alice', decision: 'approve' });
    expect(await handle.result()).toMatchObject({ outcome: 'promoted' });
    const approved = run.inputsOf('recordDecision').find((input) => input.decision === 'approval.approved');
    expect(approved).toMatchObject({
      actor: 'alice',
      details: { proof: 'signature', proofFingerprint: expect.any(String) },
    });
  });

  it('refuses a proof replayed at a later step of the same run', async ({ expect }) => {
    const { handle } = await atApproval('proof-replay', undefined, 2);
    const first = await signedFor(handle, alice.privateKeyPem);
    await handle.executeUpdate(approveUpdate, { args: [first] });
    await expect.poll(async () => (await handle.query(statusQuery)).waitingFor?.stepIndex).toBe(2);
    expect(await refusal(handle, first)).toMatch(/^replayed: this proof \([0-9a-f]{16}\) was already used/);
    await handle.executeUpdate(approveUpdate, { args: [await signedFor(handle, alice.privateKeyPem)] });
    expect(await handle.result()).toMatchObject({ outcome: 'promoted' });
  });

  it('under four eyes refuses the approver whom the verified origin names as having started the deployment', async ({
    expect,
  }) => {
    const { handle, run } = await atApproval('proof-origin', await originBy('alice-gh'));
    expect(await refusal(handle, await signedFor(handle, alice.privateKeyPem))).toBe(
      'in production alice-gh, who started this deployment (verified by github-actions), cannot approve it',
    );
    expect(
      run.inputsOf('recordDecision').find((input) => input.decision === 'origin.verified'),
    ).toMatchObject({
      actor: 'alice-gh',
      details: { issuer: 'github-actions', repository: 'acme/models' },
    });
    await handle.cancel();
  });

  it('rejects a production deployment without an authenticated origin before it touches anything', async ({
    expect,
  }) => {
    const { handle, run } = await startStubbedDeployment(stack, {
      model: 'proof-no-origin',
      environment: 'production',
      script: { ...verifying(''), resolveArtifact: () => Promise.reject(new Error('must not be reached')) },
    });
    expect(await handle.result()).toMatchObject({
      outcome: 'rejected',
      rejection: {
        step: 'resolving',
        type: 'OriginUnverified',
        message: expect.stringContaining('authenticated origin'),
      },
    });
    expect(run.calls.map((call) => call.name)).not.toContain('resolveArtifact');
  });

  it('signs and sends with `modelship approve --key`, and --print gives the JSON to paste into the Web UI', async ({
    expect,
  }) => {
    const { handle } = await atApproval('proof-cli');
    const common = ['approve', 'proof-cli', '--env', 'production', '--as', 'alice'];
    const impostor = await modelship([...common, '--key', join(scratch, 'mallory.key')]);
    expect(impostor.code).toBe(1);
    expect(impostor.stderr).toContain(
      "approve: refused: forged: the signature does not verify with alice's public key",
    );
    const printed = await modelship([...common, '--key', join(scratch, 'alice.key'), '--print']);
    expect(printed.code).toBe(0);
    const pasted = JSON.parse(printed.stdout) as SignedApproval;
    expect(pasted.statement).toMatchObject({
      workflowId: 'deploy/production/proof-cli',
      step: 2,
      approver: 'alice',
    });
    expect(await handle.executeUpdate(approveUpdate, { args: [pasted] })).toMatchObject({
      approver: 'alice',
    });
    expect(await handle.result()).toMatchObject({ outcome: 'promoted' });
  });
});
