/**
 * `checkRelease`: before DeployModel spends any work on an artifact, the audit log's word on it.
 * A quarantined artifact (`release/quarantine.ts`) is refused; with `spec.promotion`, one that did
 * not pass the other environment (`release/promotion.ts`) is refused, and the evidence it passed
 * on is returned for the run's record. Both are domain failures: retrying cannot change history.
 */
import type { AuditStore } from '../audit/store.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { evidenceLines, judgePromotion, type PromotionEvidence } from '../release/promotion.ts';
import { quarantineMessage, quarantineOf } from '../release/quarantine.ts';
import { UntrustedAuditLogError, verifiedRecordsOf } from '../release/verified-records.ts';
import type { PromotionSpec } from '../specs/promotion-schema.ts';
import { domainFailure, FailureType } from './failures.ts';

export interface CheckReleaseInput {
  deployment: DeploymentRef;
  /** The pinned model artifact, `spec.model.sha256`. */
  artifactSha256: string;
  promotion?: PromotionSpec;
}

export interface CheckReleaseResult {
  /** The evidence from `promotion.from`, when the spec asks for one. */
  promotion?: { evidence: PromotionEvidence; lines: string[] };
}

export function createReleaseActivities(deps: { audit: AuditStore }) {
  return {
    async checkRelease(input: CheckReleaseInput): Promise<CheckReleaseResult> {
      const { model } = input.deployment;
      let records: Awaited<ReturnType<typeof verifiedRecordsOf>>;
      try {
        records = await verifiedRecordsOf(deps.audit, model);
      } catch (error) {
        // A broken chain is not a passing glitch: an operator must look at the log.
        if (error instanceof UntrustedAuditLogError) {
          throw domainFailure(
            input.promotion ? FailureType.PromotionRefused : FailureType.Quarantined,
            error.message,
          );
        }
        throw error;
      }
      const quarantine = quarantineOf(records, model, input.artifactSha256);
      if (quarantine) throw domainFailure(FailureType.Quarantined, quarantineMessage(quarantine), quarantine);
      if (!input.promotion) return {};
      const evidence = judgePromotion(records, {
        model,
        artifactSha256: input.artifactSha256,
        promotion: input.promotion,
        now: new Date(),
      });
      const lines = evidenceLines(evidence);
      if (!evidence.passed) {
        throw domainFailure(
          FailureType.PromotionRefused,
          `${input.deployment.environment} takes only what passed ${input.promotion.from}: ${evidence.problems.join('; ')}`,
          { lines },
        );
      }
      return { promotion: { evidence, lines } };
    },
  };
}
