/**
 * Live performance from label counts (`domain/label-statistics.ts`): accuracy, macro precision,
 * recall and F1, each with an interval, and the estimate without labels. Pure; the data plane
 * derives its answer with it, and a sum over replicas derives again from the summed counts.
 *
 * Intervals are fixed-sample, not anytime-valid: they describe the labels so far for people and
 * dashboards. The monitor's floor test, which looks again and again, runs its own anytime-valid
 * test on the raw `labelled` and `correct` counts instead.
 * - Accuracy: a Wilson score interval, which keeps its coverage near 0 and 1 and with few rows,
 *   where the normal interval does not.
 * - Macro precision, recall, F1: a Wilson interval per class for precision (correct among the
 *   rows predicted as the class) and for recall (correct among the rows labelled as it), all
 *   2K of them at level alpha / 2K (Bonferroni), so they hold together with probability at least
 *   1 - alpha; F1 rises with both, so its class bounds come from the bounds of the two; the macro
 *   bounds are the means of the class bounds. Conservative, and valid for any number of classes.
 * - The estimate without labels (confidence-based performance estimation): for a calibrated
 *   classifier each row is right with its top-class probability p, so the expected accuracy is
 *   the mean of p, and the accuracy of those rows varies around it with variance sum p(1-p) / n²;
 *   a normal interval from that. It is only as good as the calibration, which `calibration`
 *   checks on the rows that did get labels.
 */
import {
  addLabelCounts,
  type Interval,
  type LabelCounts,
  type PerformanceReport,
  type VersionPerformance,
} from '../domain/label-statistics.ts';

/** The confidence level of every interval in a performance report. */
export const REPORT_CONFIDENCE = 0.95;

/**
 * The standard normal quantile for probability p in (0, 1): Acklam's rational approximation
 * (relative error below 1.2e-9), plenty for interval bounds.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4] = a as [number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3] = c as [number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const tail = (q: number) =>
    (((((c0 * q + c1) * q + c2) * q + c3) * q + 4.374664141464968) * q + 2.938163982698783) /
    ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  const low = 0.02425;
  if (p < low) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - low) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + 2.506628277459239) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** The two-sided z for `alpha`. */
const zFor = (alpha: number) => normalQuantile(1 - alpha / 2);

/** Wilson score interval for `successes` of `n` at `z`; null when n is 0. */
export function wilson(successes: number, n: number, z: number): Interval | null {
  if (n <= 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

const harmonic = (x: number, y: number) => (x + y === 0 ? 0 : (2 * x * y) / (x + y));
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const none: Interval = { value: 0, low: 0, high: 0 };

function perClassOf(counts: LabelCounts, z: number) {
  const size = counts.classes.length;
  return counts.classes.map((name, c) => {
    const row = counts.confusion[c] ?? [];
    const hits = row[c] ?? 0;
    const support = row.reduce((sum, cell) => sum + cell, 0);
    let predicted = 0;
    for (let t = 0; t <= size; t += 1) predicted += counts.confusion[t]?.[c] ?? 0;
    const precision = wilson(hits, predicted, z);
    const recall = wilson(hits, support, z);
    const p = precision ?? none;
    const r = recall ?? none;
    return {
      row: {
        class: name,
        support,
        predicted,
        precision: precision?.value ?? null,
        recall: recall?.value ?? null,
        f1: support + predicted === 0 ? 0 : (2 * hits) / (support + predicted),
      },
      precision: p,
      recall: r,
      f1: { value: harmonic(p.value, r.value), low: harmonic(p.low, r.low), high: harmonic(p.high, r.high) },
    };
  });
}

const averaged = (intervals: readonly Interval[]): Interval => ({
  value: mean(intervals.map((i) => i.value)),
  low: mean(intervals.map((i) => i.low)),
  high: mean(intervals.map((i) => i.high)),
});

/** The estimate without labels and its check against the labels that came. */
function estimateOf(counts: LabelCounts, z: number): VersionPerformance['estimate'] {
  const { rows, sumTopProbability: s1, sumTopProbabilitySquared: s2, skippedRows } = counts.estimate;
  let expectedAccuracy: Interval | null = null;
  if (rows > 0) {
    const value = s1 / rows;
    const half = (z * Math.sqrt(Math.max(0, s1 - s2))) / rows;
    expectedAccuracy = { value, low: Math.max(0, value - half), high: Math.min(1, value + half) };
  }
  const labelled = counts.calibration;
  return {
    estimate: true,
    method: 'confidence-based',
    rows,
    expectedAccuracy,
    skippedRows,
    calibration: {
      labelledRows: labelled.rows,
      expected: labelled.rows === 0 ? null : labelled.sumTopProbability / labelled.rows,
      observed: labelled.rows === 0 ? null : labelled.correct / labelled.rows,
    },
  };
}

/** Everything a report says about one version, derived from its counts. */
export function describeVersionPerformance(
  version: string,
  counts: LabelCounts,
  confidence = REPORT_CONFIDENCE,
): VersionPerformance {
  const alpha = 1 - confidence;
  const z = zFor(alpha);
  const classes = counts.classes.length;
  const perClass = classes === 0 ? [] : perClassOf(counts, zFor(alpha / (2 * classes)));
  return {
    version,
    counts,
    accuracy: wilson(counts.correct, counts.labelled, z),
    macro:
      counts.labelled === 0 || classes === 0
        ? null
        : {
            classes,
            precision: averaged(perClass.map((c) => c.precision)),
            recall: averaged(perClass.map((c) => c.recall)),
            f1: averaged(perClass.map((c) => c.f1)),
          },
    perClass: perClass.map((c) => c.row),
    estimate: estimateOf(counts, z),
  };
}

/**
 * One report for several replicas' reports of the same model: counts summed per version
 * (`addLabelCounts`), everything else derived again; `takenAt` the latest. Versions keep the
 * order in which they first appear.
 */
export function sumPerformanceReports(
  model: string,
  reports: readonly PerformanceReport[],
): PerformanceReport {
  const byVersion = new Map<string, LabelCounts>();
  let takenAt = new Date(0).toISOString();
  for (const report of reports) {
    if (Date.parse(report.takenAt) > Date.parse(takenAt)) takenAt = report.takenAt;
    for (const entry of report.versions) {
      const mine = byVersion.get(entry.version);
      byVersion.set(entry.version, mine === undefined ? entry.counts : addLabelCounts(mine, entry.counts));
    }
  }
  return {
    model,
    takenAt,
    confidence: REPORT_CONFIDENCE,
    versions: [...byVersion].map(([version, counts]) => describeVersionPerformance(version, counts)),
  };
}
