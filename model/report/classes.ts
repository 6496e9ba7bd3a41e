/**
 * Per-class precision, recall and F1 with their support, and the confusion matrix, from the
 * holdout's labels and the model's predicted classes. Pure, and defined as scikit-learn's
 * `classification_report` and `confusion_matrix` define them (a ratio whose denominator is 0 is
 * 0), so the numbers agree with what data scientists measured in Python.
 *
 * Bounded: the report travels in workflow history, so at most {@link MAX_REPORT_CLASSES} classes
 * are listed (those with the most support, then the most predictions); the rest are counted
 * together as one "other" row and column of the matrix. The macro averages cover every class.
 */

/** The most classes listed one by one; a model with more has the rest summed as "other". */
export const MAX_REPORT_CLASSES = 32;

export interface ClassMetrics {
  /** The class as the label column and the prediction output hold it. */
  class: number;
  precision: number;
  recall: number;
  f1: number;
  /** Holdout rows whose true class this is. */
  support: number;
  /** Holdout rows the model put in this class. */
  predicted: number;
}

export interface ConfusionMatrix {
  /** The classes of the rows and columns, ascending; see `other`. */
  classes: number[];
  /**
   * `matrix[t][p]`: rows of true class `classes[t]` predicted as `classes[p]`. When `otherClasses`
   * is above 0, one more row and column (the last) count every class left out of `classes`.
   */
  matrix: number[][];
  /** How many classes are summed in the last row and column (0: none, and no such row). */
  otherClasses: number;
}

export interface ClassReport {
  perClass: ClassMetrics[];
  /** Unweighted means over every class seen, listed or not (`f1` equals `f1Macro`). */
  macro: { precision: number; recall: number; f1: number };
  confusion: ConfusionMatrix;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  support: number;
  predicted: number;
}

const ratio = (numerator: number, denominator: number) => (denominator === 0 ? 0 : numerator / denominator);

/** Counts per class, over every class seen in labels or predictions. */
function countClasses(labels: ArrayLike<number>, predictions: ArrayLike<number>): Map<number, Counts> {
  const counts = new Map<number, Counts>();
  const of = (cls: number) => {
    let entry = counts.get(cls);
    if (!entry) {
      entry = { tp: 0, fp: 0, fn: 0, support: 0, predicted: 0 };
      counts.set(cls, entry);
    }
    return entry;
  };
  for (let i = 0; i < labels.length; i += 1) {
    const truth = labels[i] as number;
    const guess = predictions[i] as number;
    of(truth).support += 1;
    of(guess).predicted += 1;
    if (truth === guess) {
      of(truth).tp += 1;
    } else {
      of(truth).fn += 1;
      of(guess).fp += 1;
    }
  }
  return counts;
}

function metricsOf(cls: number, { tp, fp, fn, support, predicted }: Counts): ClassMetrics {
  return {
    class: cls,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    support,
    predicted,
  };
}

/** The per-class report and the confusion matrix; see the module comment. Throws on unequal lengths. */
export function classReport(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  maxClasses = MAX_REPORT_CLASSES,
): ClassReport {
  if (labels.length !== predictions.length) {
    throw new Error(`${predictions.length} predictions for ${labels.length} labels`);
  }
  const counts = countClasses(labels, predictions);
  const all = [...counts.entries()].map(([cls, entry]) => metricsOf(cls, entry));
  const n = all.length;
  const mean = (pick: (m: ClassMetrics) => number) =>
    ratio(
      all.reduce((sum, m) => sum + pick(m), 0),
      n,
    );
  const macro = { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
  const listed = [...all]
    .sort((a, b) => b.support - a.support || b.predicted - a.predicted || a.class - b.class)
    .slice(0, Math.max(1, maxClasses))
    .sort((a, b) => a.class - b.class);
  const classes = listed.map((m) => m.class);
  const otherClasses = n - classes.length;
  const index = new Map(classes.map((cls, i) => [cls, i]));
  const size = classes.length + (otherClasses > 0 ? 1 : 0);
  const matrix = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (let i = 0; i < labels.length; i += 1) {
    const t = index.get(labels[i] as number) ?? classes.length;
    const p = index.get(predictions[i] as number) ?? classes.length;
    (matrix[t] as number[])[p] = ((matrix[t] as number[])[p] as number) + 1;
  }
  return { perClass: listed, macro, confusion: { classes, matrix, otherClasses } };
}
