/**
 * Calibration of a classifier that outputs class probabilities: does a model that says "90 %"
 * turn out right nine times in ten? Pure.
 *
 * - Confidence is the probability the model gives to the class it predicted (the prediction
 *   output's class, so the report speaks of the answers callers get), correctness whether that
 *   class is the label.
 * - Reliability bins are equal-width over [0, 1]: bin i holds confidences in (i/B, (i+1)/B], the
 *   first also 0. Each lists its rows, mean confidence and accuracy; empty bins are left out.
 * - Expected calibration error (ECE): the rows-weighted mean of |accuracy − mean confidence| over
 *   the bins; the largest such gap of a bin is `maxGap`.
 * - Brier score: the mean over rows of Σₖ (pₖ − [label = k])², over every class column (0 is
 *   perfect, 2 the worst). For two classes it is twice scikit-learn's `brier_score_loss`, which
 *   looks at the positive class only.
 *
 * Column k of the probability output is taken to be the probability of class k (what
 * scikit-learn's converters write with `zipmap` off): labels and predictions must be classes
 * 0..columns−1, or the report says why it has no calibration.
 */

/** Reliability bins when the caller names none. */
export const DEFAULT_CALIBRATION_BINS = 10;
/** The most bins a caller may ask for. */
export const MAX_CALIBRATION_BINS = 50;

export interface CalibrationBin {
  /** Lower edge, excluded (except 0 in the first bin). */
  lower: number;
  /** Upper edge, included. */
  upper: number;
  rows: number;
  meanConfidence: number;
  accuracy: number;
}

export interface Calibration {
  /** The model output the probabilities came from. */
  output: string;
  rows: number;
  /** Bins in the report's equal-width grid, before empty ones were dropped. */
  binCount: number;
  bins: CalibrationBin[];
  /** Expected calibration error over `bins`. */
  ece: number;
  /** The largest |accuracy − mean confidence| of one bin. */
  maxGap: number;
  brier: number;
}

/** No calibration, and why (labels outside the probability columns, for one). */
export interface CalibrationSkipped {
  output: string;
  skipped: string;
}

export interface CalibrationInput {
  output: string;
  labels: ArrayLike<number>;
  predictions: ArrayLike<number>;
  /** `rows × columns` probabilities, row-major. */
  probabilities: ArrayLike<number>;
  columns: number;
  bins?: number;
}

/** Calibration of the holdout's predictions; see the module comment. */
export function calibration(input: CalibrationInput): Calibration | CalibrationSkipped {
  const { labels, predictions, probabilities, columns, output } = input;
  const rows = labels.length;
  if (predictions.length !== rows || probabilities.length !== rows * columns || columns < 1) {
    throw new Error(
      `calibration needs ${rows} predictions and ${rows} × ${columns} probabilities; got ${predictions.length} and ${probabilities.length}`,
    );
  }
  const inRange = (cls: number) => Number.isInteger(cls) && cls >= 0 && cls < columns;
  for (let r = 0; r < rows; r += 1) {
    const label = labels[r] as number;
    const predicted = predictions[r] as number;
    for (let k = 0; k < columns; k += 1) {
      const p = probabilities[r * columns + k] as number;
      if (!Number.isFinite(p)) return { output, skipped: `row ${r + 1} has probability ${p} for class ${k}` };
    }
    if (!inRange(label) || !inRange(predicted)) {
      const which = inRange(label) ? `prediction ${predicted}` : `label ${label}`;
      return {
        output,
        skipped: `row ${r + 1} has ${which}, outside the ${columns} probability columns (classes 0..${columns - 1})`,
      };
    }
  }
  const binCount = Math.min(
    MAX_CALIBRATION_BINS,
    Math.max(1, Math.floor(input.bins ?? DEFAULT_CALIBRATION_BINS)),
  );
  const count = new Array<number>(binCount).fill(0);
  const confidenceSum = new Array<number>(binCount).fill(0);
  const correct = new Array<number>(binCount).fill(0);
  let brierSum = 0;
  for (let r = 0; r < rows; r += 1) {
    const label = labels[r] as number;
    const predicted = predictions[r] as number;
    for (let k = 0; k < columns; k += 1) {
      const p = probabilities[r * columns + k] as number;
      const target = k === label ? 1 : 0;
      brierSum += (p - target) ** 2;
    }
    const confidence = Math.min(1, Math.max(0, probabilities[r * columns + predicted] as number));
    const bin = Math.min(binCount - 1, Math.max(0, Math.ceil(confidence * binCount) - 1));
    count[bin] = (count[bin] as number) + 1;
    confidenceSum[bin] = (confidenceSum[bin] as number) + confidence;
    if (label === predicted) correct[bin] = (correct[bin] as number) + 1;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  let maxGap = 0;
  for (let b = 0; b < binCount; b += 1) {
    const n = count[b] as number;
    if (n === 0) continue;
    const meanConfidence = (confidenceSum[b] as number) / n;
    const accuracy = (correct[b] as number) / n;
    const gap = Math.abs(accuracy - meanConfidence);
    ece += (n / rows) * gap;
    maxGap = Math.max(maxGap, gap);
    bins.push({ lower: b / binCount, upper: (b + 1) / binCount, rows: n, meanConfidence, accuracy });
  }
  return { output, rows, binCount, bins, ece, maxGap, brier: rows === 0 ? 0 : brierSum / rows };
}
