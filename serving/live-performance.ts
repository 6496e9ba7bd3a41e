/**
 * Per-version counters of live performance, in fixed memory: the labels fed back (a confusion
 * matrix over at most 64 named classes plus "other", allocated whole when the version's counters
 * are created), and the sums behind the estimate without labels (top-class probabilities of
 * routed rows). Cumulative for the life of the process, kept across unload and reload, like the
 * request metrics (`metrics.ts`); the report (`GET /admin/v1/models/{m}/performance`) derives
 * rates and intervals from them with `analysis/live-performance.ts`.
 */
import { describeVersionPerformance, REPORT_CONFIDENCE } from '../analysis/live-performance.ts';
import { type LabelCounts, MAX_LABEL_CLASSES, type PerformanceReport } from '../domain/label-statistics.ts';
import { HttpError } from './http.ts';
import type { ModelRegistry } from './registry.ts';

const SIZE = MAX_LABEL_CLASSES + 1;

/** The label and estimate counters of one (model, version). */
export class VersionLabels {
  labelled = 0;
  correct = 0;
  private readonly classes: string[] = [];
  private readonly classIndex = new Map<string, number>();
  /** confusion[t * SIZE + p]; index MAX_LABEL_CLASSES is "other". */
  private readonly confusion = new Float64Array(SIZE * SIZE);
  private calibrationRows = 0;
  private calibrationCorrect = 0;
  private calibrationSum = 0;
  estimateRows = 0;
  estimateSum = 0;
  private estimateSumSquared = 0;
  private estimateSkipped = 0;

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  private indexOf(name: string): number {
    const known = this.classIndex.get(name);
    if (known !== undefined) return known;
    if (this.classes.length >= MAX_LABEL_CLASSES) return MAX_LABEL_CLASSES;
    this.classIndex.set(name, this.classes.length);
    this.classes.push(name);
    return this.classes.length - 1;
  }

  /** One labelled row: its true class, the class predicted, and the top-class probability if known. */
  addLabel(label: string, predicted: string, probability: number | undefined): void {
    const right = label === predicted;
    this.labelled += 1;
    if (right) this.correct += 1;
    const at = this.indexOf(label) * SIZE + this.indexOf(predicted);
    this.confusion[at] = (this.confusion[at] ?? 0) + 1;
    if (probability !== undefined) {
      this.calibrationRows += 1;
      if (right) this.calibrationCorrect += 1;
      this.calibrationSum += probability;
    }
  }

  /** One routed row's top-class probability. */
  observeTop(probability: number): void {
    this.estimateRows += 1;
    this.estimateSum += probability;
    this.estimateSumSquared += probability * probability;
  }

  /** A routed row whose probability output was not a distribution. */
  skipTop(): void {
    this.estimateSkipped += 1;
  }

  /** The counters in the report's raw form. */
  counts(): LabelCounts {
    const size = this.classes.length + 1;
    // Report index i is counter index i for named classes; the last is "other".
    const from = (i: number) => (i === size - 1 ? MAX_LABEL_CLASSES : i);
    const confusion = Array.from({ length: size }, (_, t) =>
      Array.from({ length: size }, (_, p) => this.confusion[from(t) * SIZE + from(p)] ?? 0),
    );
    return {
      labelled: this.labelled,
      correct: this.correct,
      classes: [...this.classes],
      confusion,
      calibration: {
        rows: this.calibrationRows,
        correct: this.calibrationCorrect,
        sumTopProbability: this.calibrationSum,
      },
      estimate: {
        rows: this.estimateRows,
        sumTopProbability: this.estimateSum,
        sumTopProbabilitySquared: this.estimateSumSquared,
        skippedRows: this.estimateSkipped,
      },
    };
  }
}

/** Every version's label counters, created on first use and kept for the life of the process. */
export class PerformanceRegistry {
  private readonly byModel = new Map<string, Map<string, VersionLabels>>();

  /** The counters of (model, version), created when missing. */
  forVersion(model: string, version: string): VersionLabels {
    let versions = this.byModel.get(model);
    if (!versions) {
      versions = new Map();
      this.byModel.set(model, versions);
    }
    let labels = versions.get(version);
    if (!labels) {
      labels = new VersionLabels(model, version);
      versions.set(version, labels);
    }
    return labels;
  }

  /** The counters of (model, version) if this process has any. */
  get(model: string, version: string): VersionLabels | undefined {
    return this.byModel.get(model)?.get(version);
  }

  hasModel(model: string): boolean {
    return this.byModel.has(model);
  }

  /** The report of one model's versions (those with counters), in creation order. */
  report(model: string, now = new Date()): PerformanceReport {
    const versions = [...(this.byModel.get(model)?.values() ?? [])];
    return {
      model,
      takenAt: now.toISOString(),
      confidence: REPORT_CONFIDENCE,
      versions: versions.map((labels) => describeVersionPerformance(labels.version, labels.counts())),
    };
  }

  /** The Prometheus families of every version (text format 0.0.4). */
  prometheus(): string {
    const all = [...this.byModel.values()].flatMap((versions) => [...versions.values()]);
    const quote = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const labels = (m: VersionLabels) => `{model="${quote(m.model)}",version="${quote(m.version)}"}`;
    const lines = [
      '# HELP modelship_labels_total Rows whose true label was fed back and accepted.',
      '# TYPE modelship_labels_total counter',
      ...all.map((m) => `modelship_labels_total${labels(m)} ${m.labelled}`),
      '# HELP modelship_labels_correct_total Labelled rows the version predicted correctly.',
      '# TYPE modelship_labels_correct_total counter',
      ...all.map((m) => `modelship_labels_correct_total${labels(m)} ${m.correct}`),
      '# HELP modelship_estimated_accuracy ESTIMATE without labels: mean top-class probability of routed rows (valid for calibrated classifiers).',
      '# TYPE modelship_estimated_accuracy gauge',
      ...all
        .filter((m) => m.estimateRows > 0)
        .map((m) => `modelship_estimated_accuracy${labels(m)} ${m.estimateSum / m.estimateRows}`),
    ];
    return `${lines.join('\n')}\n`;
  }
}

/**
 * `GET /admin/v1/models/{m}/performance`: every version loaded now (with zeros before its first
 * request) or counted since the process started; 404 for a model that is neither.
 */
export function performanceReport(
  performance: PerformanceRegistry,
  registry: ModelRegistry,
  model: string,
): PerformanceReport {
  const entry = registry.get(model);
  if (entry === undefined && !performance.hasModel(model))
    throw new HttpError(404, `model "${model}" is not loaded and has no live performance here`);
  for (const version of entry?.snapshot.versions.keys() ?? []) performance.forVersion(model, version);
  return performance.report(model);
}
