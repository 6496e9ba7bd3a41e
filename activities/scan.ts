/**
 * `scanModel`: the scan step. Runs the model library's offline scan (`model/scan.ts`) on the
 * stored artifact, heartbeating as it goes, and turns a report with errors into `ScanFailed`.
 */

import type { DeploymentRef } from '../domain/deployment.ts';
import { hasErrorCode } from '../model/files.ts';
import { formatFinding, type ScanLimits, type ScanReport } from '../model/scan.ts';
import { evaluateShipGates, gateVerdict, localModelFiles } from '../supply-chain/gates/evaluate.ts';
import { loadedDefaultPolicy } from '../supply-chain/policy/load.ts';
import type { ArtifactStore, ResolvedArtifact } from './artifact.ts';
import { domainFailure, FailureType } from './failures.ts';
import { heartbeat } from './heartbeat.ts';

export interface ScanModelInput {
  deployment: DeploymentRef;
  artifact: ResolvedArtifact;
  /** The model's directory in the checkout (`modelDirectory` in supply-chain.ts), for external data. */
  modelDir?: string;
  /** The environment policy's limits (`scan:` in policies/<env>.yaml), over the worker's. */
  limits?: Partial<ScanLimits>;
}

/** Builds the scan activities; `limits` override `DEFAULT_SCAN_LIMITS`. */
export function createScanActivities(deps: { artifacts: ArtifactStore; limits?: Partial<ScanLimits> }) {
  return {
    /**
     * The digest and scan gates of `evaluateShipGates` on the stored artifact, heartbeating as it
     * goes. The policy's limits come in `limits` (the workflow has them from `verifySupplyChain`),
     * so the policy itself is not read again. Any error finding throws `ScanFailed` with the
     * report as details.
     */
    async scanModel(input: ScanModelInput): Promise<ScanReport> {
      const { artifact, deployment } = input;
      const modelFile = await deps.artifacts.localCopy(deployment, artifact);
      const report = await evaluateShipGates({
        policy: loadedDefaultPolicy(deployment.environment),
        files: localModelFiles({ modelFile, modelDir: input.modelDir ?? null }),
        source: artifact.source,
        expectedSha256: artifact.sha256,
        baseLimits: { ...deps.limits, ...input.limits },
        gates: ['digest', 'scan'],
        onProgress: heartbeat,
      }).catch((error: unknown) => {
        if (!hasErrorCode(error, 'ENOENT')) throw error;
        throw domainFailure(FailureType.ArtifactNotFound, `stored artifact ${modelFile} is missing`, {
          path: modelFile,
        });
      });
      const scan = report.scan;
      if (scan === null) throw new Error('the scan gate did not run');
      // A digest finding is part of the report's errors: the stored bytes are not the pinned ones.
      const failed = ['digest', 'scan'] as const;
      if (failed.some((gate) => gateVerdict(report, gate).status === 'failed'))
        throw scanFailure(artifact, scan);
      return scan;
    },
  };
}

/** The `ScanFailed` domain failure for a report with errors: every error in the message, the report as details. */
export function scanFailure(artifact: Pick<ResolvedArtifact, 'source' | 'sha256'>, report: ScanReport) {
  const errors = report.findings.filter((f) => f.severity === 'error');
  return domainFailure(
    FailureType.ScanFailed,
    `scan of "${artifact.source}" (sha256 ${artifact.sha256.slice(0, 12)}…) found ${errors.length} error(s): ${errors.map(formatFinding).join('; ')}`,
    report,
  );
}
