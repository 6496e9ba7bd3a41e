/**
 * What a running DeployModel exposes about itself: the `status` query's shape and the markdown
 * shown as "current details" in the Temporal Web UI. Pure, so it is unit-tested without Temporal.
 */

/** Stages of the pipeline, in order; `serving`, `loaded` and `rejected` end it. */
export const PIPELINE_STAGES = [
  'resolving',
  'scanning',
  'validating',
  'packaging',
  'loading',
  'serving',
  'loaded',
  'rejected',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

export interface DeploymentStatus {
  model: string;
  environment: string;
  commit: string;
  stage: PipelineStage;
  history: { stage: PipelineStage; at: string }[];
  artifact?: { sha256: string; sizeBytes: number };
  validation?: { name: string; value: number; passed: boolean }[];
  scanFindings?: number;
  bundle?: { digest: string; path: string };
  dataPlane?: { version: string; stable: string | null };
  rejection?: { step: PipelineStage; type: string; message: string };
}

function formatMetric(name: string, value: number): string {
  if (name.startsWith('latency')) return `${value.toFixed(3)} ms`;
  return value.toFixed(4);
}

/** Markdown for the Web UI's current details: stage first, then what is known so far. */
export function renderDetails(status: DeploymentStatus): string {
  const lines = [
    `**${status.model}** → \`${status.environment}\` at \`${status.commit.slice(0, 12)}\``,
    '',
    `**Stage:** ${status.stage}`,
  ];
  if (status.artifact) {
    lines.push(
      `**Artifact:** sha256 \`${status.artifact.sha256.slice(0, 16)}…\` (${status.artifact.sizeBytes} bytes)`,
    );
  }
  if (status.validation && status.validation.length > 0) {
    lines.push('', '| metric | value | verdict |', '| --- | --- | --- |');
    for (const metric of status.validation) {
      lines.push(
        `| ${metric.name} | ${formatMetric(metric.name, metric.value)} | ${metric.passed ? 'pass' : 'FAIL'} |`,
      );
    }
  }
  if (status.scanFindings !== undefined) lines.push('', `**Scan:** ${status.scanFindings} finding(s)`);
  if (status.bundle) lines.push(`**Bundle:** \`${status.bundle.digest.slice(0, 16)}…\``);
  if (status.dataPlane) {
    lines.push(
      `**Data plane:** version \`${status.dataPlane.version}\`, stable \`${status.dataPlane.stable ?? 'none'}\``,
    );
  }
  if (status.rejection) {
    lines.push(
      '',
      `**Rejected at ${status.rejection.step}** (${status.rejection.type}): ${status.rejection.message}`,
    );
  }
  return lines.join('\n');
}
