/**
 * Turns a rollout's `status` query into progress lines: each stage it entered, with the rollout
 * step it belongs to and why it happens, and each verdict with its numbers. Pure apart from what
 * it has already told, so polling it twice never repeats a line.
 */
import { formatDuration } from '../specs/duration.ts';
import type { DeploymentStatus, PipelineStage } from '../workflows/status.ts';

/** Why each stage happens, for someone who has never seen a rollout. */
const WHY: Record<PipelineStage, string> = {
  resolving:
    'copying the model into the artifact store; bytes that do not match the pinned sha256 are refused',
  scanning: 'parsing the ONNX file without executing it: structure, operator domains, external data',
  validating: "running it on the holdout set with onnxruntime, against the spec's offline gates",
  packaging: 'building an immutable bundle: the model, the spec as committed, a manifest of digests',
  loading: 'loading the bundle into the data plane and warming it, without traffic',
  serving: "a model's first version takes all traffic at once: there is nothing to compare it with",
  shadow:
    "every live request is mirrored to the candidate; its answers are compared with stable's, never returned",
  canary: 'the candidate now answers that share of live requests',
  paused: 'waiting before the next step',
  analysis: 'judging the canary against stable on live traffic: error rate, p99 latency, disagreement',
  'awaiting-approval': 'the rollout waits until a listed approver answers (Temporal update `approve`)',
  promoting: 'every step passed: the candidate becomes stable at 100 %',
  promoted: 'the previous stable stays warm for the post-promotion window, then is unloaded',
  'rolling-back': 'stable back to 100 %, the candidate drained and unloaded',
  'rolled-back': 'stable serves all traffic again; the reason and its numbers are in the audit log',
  rejected: 'refused before any traffic',
};

/** The rollout step kind a stage carries out; stages not listed are not steps. */
const STEP_KIND: Partial<Record<PipelineStage, string>> = {
  shadow: 'shadow',
  canary: 'setWeight',
  paused: 'pause',
  analysis: 'analysis',
  'awaiting-approval': 'approval',
};

export class Narrator {
  private seenStages = 0;
  /** Index of the step the last step-stage belonged to (-1 before the first). */
  private step = -1;
  private lastStepStage: PipelineStage | undefined;
  private toldVerdict = '';

  /** Lines for what happened since the previous call, in order. */
  next(status: DeploymentStatus): string[] {
    const lines: string[] = [];
    const steps = status.rollout?.steps ?? [];
    const verdict = status.lastVerdict;
    const verdictKey = verdict
      ? `${verdict.stepIndex}:${verdict.verdict.outcome}:${verdict.verdict.reason}`
      : '';
    const tellVerdict = () => {
      if (!verdict || verdictKey === this.toldVerdict) return;
      this.toldVerdict = verdictKey;
      const kind = steps[verdict.stepIndex]?.split(' ')[0] ?? 'step';
      lines.push(
        `step ${verdict.stepIndex + 1} ${kind}: ${verdict.verdict.outcome}: ${verdict.verdict.reason}`,
      );
    };

    for (const { stage } of status.history.slice(this.seenStages)) {
      const kind = STEP_KIND[stage];
      if (kind === undefined) {
        // Past the steps (promoting, rolling back): the verdict that got us here comes first.
        tellVerdict();
        lines.push(this.stageLine(stage, status));
        continue;
      }
      const extension = stage === 'analysis' && this.lastStepStage === 'analysis';
      if (!extension) this.step = findStep(steps, kind, this.step + 1);
      // A verdict of an earlier step (or the inconclusive one that extends this step) comes first.
      if (verdict && (extension || verdict.stepIndex < this.step)) tellVerdict();
      this.lastStepStage = stage;
      const where = `step ${this.step + 1}/${steps.length} ${steps[this.step] ?? kind}`;
      lines.push(
        extension
          ? `${where}: too little traffic for a verdict yet, the watch is extended`
          : `${where}: ${WHY[stage]}`,
      );
    }
    this.seenStages = status.history.length;
    if (verdict && verdict.stepIndex <= this.step) tellVerdict();
    return lines;
  }

  private stageLine(stage: PipelineStage, status: DeploymentStatus): string {
    if (stage === 'packaging' && status.validation) {
      const measured = status.validation
        .filter((metric) => metric.name === 'accuracy' || metric.name === 'latencyP99')
        .map((metric) =>
          metric.name === 'accuracy'
            ? `accuracy ${metric.value.toFixed(3)}`
            : `p99 ${formatDuration(metric.value)}`,
        );
      return `validated offline: ${measured.join(', ')}, every gate passed; ${stage}: ${WHY[stage]}`;
    }
    return `${stage}: ${WHY[stage]}`;
  }
}

/** The first step at or after `from` of the given kind (descriptions start with it). */
function findStep(steps: string[], kind: string, from: number): number {
  for (let index = Math.max(0, from); index < steps.length; index += 1) {
    if (steps[index]?.startsWith(kind)) return index;
  }
  return Math.max(0, from);
}
