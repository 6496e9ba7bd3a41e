/**
 * The identity activities: the Temporal adapters over `supply-chain/identity/`. The environment's
 * policy (its trusted keys and issuers) is read from the deployment's checkout, like every other
 * policy question, so the rules that judged a change at `plan` are the ones that check who
 * approves it.
 *
 * - `verifyApproval`: awaited by the `approve` handlers before a decision is accepted; answers
 *   accepted (with the verified name) or refused (with the kind and reason the handler audits).
 * - `authenticateOrigin`: first thing in a run; verifies the token `apply` presented, and refuses
 *   the deployment (a domain failure) where the policy requires an origin and none is proven.
 */

import type { ApprovalRequest, VerifiedOrigin } from '../domain/approval.ts';
import type { ApprovalScope } from '../domain/approval-statement.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import {
  type ApprovalVerdict,
  type IdentityTrust,
  verifyApproval,
} from '../supply-chain/identity/verify-approval.ts';
import { verifyOrigin } from '../supply-chain/identity/verify-origin.ts';
import { domainFailure, FailureType } from './failures.ts';
import type { SourceTrees } from './source-tree.ts';
import { readPolicy } from './supply-chain.ts';

export type { ApprovalVerdict };

export interface VerifyApprovalActivityInput {
  deployment: DeploymentRef;
  request: ApprovalRequest;
  scope: ApprovalScope;
  usedProofs: string[];
}

export interface AuthenticateOriginInput {
  deployment: DeploymentRef;
  /** The OIDC token `apply` presented. */
  token?: string;
}

export interface AuthenticateOriginResult {
  origin: VerifiedOrigin | null;
  /** Whether approvals without proof count here (the policy's `identity.unsignedApprovals`). */
  unsignedApprovals: 'allow' | 'refuse';
}

async function trustOf(trees: SourceTrees, deployment: DeploymentRef): Promise<IdentityTrust> {
  const loaded = await readPolicy(trees, deployment);
  return {
    environment: deployment.environment,
    identity: loaded.policy.identity,
    approverKeys: loaded.approverKeys,
    jwksFiles: loaded.jwksFiles,
  };
}

export function createIdentityActivities(deps: { trees: SourceTrees }) {
  return {
    async verifyApproval(input: VerifyApprovalActivityInput): Promise<ApprovalVerdict> {
      const trust = await trustOf(deps.trees, input.deployment);
      return verifyApproval(
        { request: input.request, scope: input.scope, usedProofs: input.usedProofs, now: new Date() },
        trust,
      );
    },

    async authenticateOrigin(input: AuthenticateOriginInput): Promise<AuthenticateOriginResult> {
      const trust = await trustOf(deps.trees, input.deployment);
      const verdict = await verifyOrigin(
        { token: input.token, commit: input.deployment.commit, now: new Date() },
        trust,
      );
      if (!verdict.ok) throw domainFailure(FailureType.OriginUnverified, verdict.reason);
      return { origin: verdict.origin, unsignedApprovals: trust.identity.unsignedApprovals ?? 'allow' };
    },
  };
}
