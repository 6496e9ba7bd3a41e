/**
 * The promotion gate: an environment whose spec says `promotion.from: staging` takes only a model
 * artifact that served all traffic in staging, long enough, with the verdicts the spec requires.
 * Pure: judged on the audit log's records (`artifact-life.ts`) and the time of asking. The
 * workflow (`checkRelease` activity), `modelship plan` and `modelship promote` all call it, so
 * what the plan shows is what the workflow decides.
 */
import type { PromotionSpec } from '../specs/promotion-schema.ts';
import { type LifeRecord, type ServingPeriod, servingPeriods } from './artifact-life.ts';

export interface PromotionEvidence {
  from: string;
  artifactSha256: string;
  passed: boolean;
  /** Why it did not pass, one sentence each; empty when it passed. */
  problems: string[];
  /** The period the judgement rests on: the newest in which the artifact served in `from`. */
  period?: ServingPeriod;
  /** How long it served there (until now, or until it stopped). */
  soakedMs?: number;
}

/** `1d 2h`, `3h 5m`, `42s`: a duration for people. */
export function formatSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Judges whether `artifactSha256` of `model` passed `promotion.from`, as of `now`. */
export function judgePromotion(
  records: readonly LifeRecord[],
  input: { model: string; artifactSha256: string; promotion: PromotionSpec; now: Date },
): PromotionEvidence {
  const { promotion, artifactSha256, model } = input;
  const from = promotion.from;
  const short = artifactSha256.slice(0, 12);
  const periods = servingPeriods(records, { model, environment: from, artifactSha256 });
  const period = periods.at(-1);
  if (!period) {
    return {
      from,
      artifactSha256,
      passed: false,
      problems: [
        `model ${model} artifact sha256:${short} never served all traffic in ${from}: deploy it there first`,
      ],
    };
  }
  const problems: string[] = [];
  const end = period.until ? Date.parse(period.until) : input.now.getTime();
  const soakedMs = Math.max(0, end - Date.parse(period.since));
  if (period.endedBy === 'rolled-back') {
    problems.push(
      `it was rolled back in ${from} at ${period.until}${period.rollbackReason ? `: ${period.rollbackReason}` : ''}`,
    );
  }
  if (soakedMs < promotion.minSoakMs) {
    problems.push(
      `it served in ${from} for ${formatSpan(soakedMs)}${period.until ? ` (until ${period.until})` : ' so far'}, less than the ${promotion.minSoak} promotion.minSoak asks`,
    );
  }
  for (const required of promotion.require) {
    if (required === 'analysis' && !period.verdicts.some((v) => v.outcome === 'pass')) {
      problems.push(
        `no analysis or shadow step passed in the run that brought it to ${from} (${period.run.workflowId}, ${period.outcome})`,
      );
    }
    if (required === 'analysis' && period.verdicts.some((v) => v.outcome === 'fail')) {
      problems.push(`a step of the run that brought it to ${from} failed its analysis`);
    }
    if (required === 'approval' && period.approvals.length === 0) {
      problems.push(`nobody approved it in ${from}: the run that brought it there had no approval`);
    }
    if (required === 'quiet-monitor' && period.findings.length > 0) {
      const keys = [...new Set(period.findings.map((f) => f.key))].join(', ');
      problems.push(`its monitor in ${from} raised ${period.findings.length} finding(s): ${keys}`);
    }
  }
  return { from, artifactSha256, passed: problems.length === 0, problems, period, soakedMs };
}

/** The evidence as lines for people (`plan`, `promote`, the workflow's rejection). */
export function evidenceLines(evidence: PromotionEvidence): string[] {
  const { period } = evidence;
  const head = `${evidence.passed ? 'passed' : 'NOT passed'} ${evidence.from}`;
  if (!period) return [head, ...evidence.problems.map((p) => `- ${p}`)];
  const approvals = period.approvals.map((a) => `${a.approver}${a.proof ? ` (${a.proof})` : ''}`).join(', ');
  const verdicts = period.verdicts.map((v) => `${v.step} ${v.outcome}`).join(', ');
  const soak = evidence.soakedMs === undefined ? '' : `, soaked ${formatSpan(evidence.soakedMs)}`;
  const lines = [
    `${head}: version ${period.version} ${period.outcome} there at ${period.since}${soak}${period.until ? `, ${period.endedBy} at ${period.until}` : ', still serving'}`,
    `- verdicts: ${verdicts || 'none (no analysis or shadow step)'}`,
    `- approved by: ${approvals || 'nobody'}`,
    `- monitor: ${period.findings.length === 0 ? 'no findings' : period.findings.map((f) => f.summary || f.key).join('; ')}`,
  ];
  for (const problem of evidence.problems) lines.push(`- refused: ${problem}`);
  return lines;
}
