/**
 * `scanModel`: the scan step. Runs the model library's offline scan (`model/scan.ts`) on the
 * stored artifact, heartbeating as it goes, and turns a report with errors into `ScanFailed`.
 */

import type { DeploymentRef } from '../domain/deployment.ts';
import { hasErrorCode } from '../model/files.ts';
import { formatFinding, type ScanLimits, type ScanReport, scanModelFile } from '../model/scan.ts';
import type { ResolvedArtifact } from './artifact.ts';
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
export function createScanActivities(deps: { home: string; limits?: Partial<ScanLimits> }) {
  return {
    /** Scans the stored artifact; any error finding throws `ScanFailed` with the report as details. */
    async scanModel(input: ScanModelInput): Promise<ScanReport> {
      const { artifact } = input;
      const report = await scanModelFile(artifact.path, {
        ...deps.limits,
        ...input.limits,
        ...(input.modelDir ? { modelDir: input.modelDir } : {}),
        expectedSha256: artifact.sha256,
        onProgress: heartbeat,
      }).catch((error: unknown) => {
        if (!hasErrorCode(error, 'ENOENT')) throw error;
        throw domainFailure(FailureType.ArtifactNotFound, `stored artifact ${artifact.path} is missing`, {
          path: artifact.path,
        });
      });
      if (!report.passed) throw scanFailure(artifact, report);
      return report;
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
