/**
 * Live performance of a model version: what the data plane counts from the true labels fed back
 * for its predictions (`POST /v2/models/{m}/feedback`), and the estimate it makes without labels
 * from the probabilities the model outputs. The contract between the data plane, which answers
 * `GET /admin/v1/models/{m}/performance` with a `PerformanceReport`, and its readers (the admin
 * client, the sum over replicas, the monitor).
 *
 * The raw counts (`LabelCounts`) are what replicas add up; everything else in a report (accuracy,
 * macro precision, recall and F1 with their intervals, the estimate) is derived from them by
 * `analysis/live-performance.ts`, so a sum over replicas is derived again from summed counts, never
 * averaged from rates.
 */
import { z } from 'zod';

/**
 * Classes the confusion matrix names, first seen first; labels and predictions of any further
 * class are pooled in one "other" row and column, so a version's matrix never grows past
 * (64 + 1)² cells whatever labels a client sends.
 */
export const MAX_LABEL_CLASSES = 64;

const count = z.number().int().nonnegative();
const total = z.number().nonnegative().refine(Number.isFinite, 'must be finite');

export const LabelCountsSchema = z
  .object({
    labelled: count.describe('Rows whose true label was fed back and accepted.'),
    correct: count.describe('Of them, rows whose predicted class equals the label.'),
    classes: z
      .array(z.string())
      .max(MAX_LABEL_CLASSES)
      .describe(
        'Classes seen in the labels and predictions of labelled rows, as text (integer classes in decimal), first seen first.',
      ),
    confusion: z
      .array(z.array(count))
      .describe(
        'confusion[t][p]: labelled rows whose label is classes[t] and whose prediction is classes[p]; the last row and column (index classes.length) pool every class beyond the first 64.',
      ),
    calibration: z
      .object({
        rows: count.describe('Labelled rows whose prediction carried its top-class probability.'),
        correct: count.describe('Of them, rows predicted correctly.'),
        sumTopProbability: total.describe('The sum of their top-class probabilities.'),
      })
      .describe(
        'The estimate without labels checked on the rows that have labels: expected accuracy (sumTopProbability / rows) against observed (correct / rows).',
      ),
    estimate: z
      .object({
        rows: count.describe('Routed rows whose top-class probability was counted.'),
        sumTopProbability: total,
        sumTopProbabilitySquared: total,
        skippedRows: count.describe(
          'Rows whose probability output was not a distribution (a value outside [0, 1], or a row not summing to 1): left out.',
        ),
      })
      .describe('Sums for the estimate without labels (confidence-based performance estimation).'),
  })
  .superRefine((counts, context) => {
    const size = counts.classes.length + 1;
    if (counts.confusion.length !== size || counts.confusion.some((row) => row.length !== size)) {
      context.addIssue({
        code: 'custom',
        path: ['confusion'],
        message: `must be ${size} × ${size}: one row and column per class, and one for "other"`,
      });
    }
  });
/** Cumulative label counts of one version in one process (or summed over replicas). */
export type LabelCounts = z.output<typeof LabelCountsSchema>;

const Interval = z.object({
  value: z.number(),
  low: z.number(),
  high: z.number(),
});
/** A point estimate and its confidence interval. */
export type Interval = z.output<typeof Interval>;

const ClassPerformance = z.object({
  class: z.string(),
  support: count.describe('Labelled rows of this class.'),
  predicted: count.describe('Labelled rows predicted as this class.'),
  precision: z.number().nullable().describe('null when no labelled row was predicted as this class.'),
  recall: z.number().nullable().describe('null when no labelled row has this class.'),
  f1: z.number(),
});

export const VersionPerformanceSchema = z.object({
  version: z.string(),
  counts: LabelCountsSchema,
  accuracy: Interval.nullable().describe(
    'Share of labelled rows predicted correctly, with a Wilson score interval; null before any label.',
  ),
  macro: z
    .object({
      classes: count.describe('Classes averaged over (the named ones, "other" left out).'),
      precision: Interval,
      recall: Interval,
      f1: Interval,
    })
    .nullable()
    .describe(
      'Unweighted means over the classes seen; a class never predicted counts precision 0, a class never labelled recall 0 (as scikit-learn does). Intervals: Wilson intervals per class, Bonferroni-adjusted over the 2 × classes of them, averaged.',
    ),
  perClass: z.array(ClassPerformance),
  estimate: z
    .object({
      estimate: z.literal(true).describe('Always true: this is an estimate, not a measurement.'),
      method: z.literal('confidence-based'),
      rows: count,
      expectedAccuracy: Interval.nullable().describe(
        'Mean top-class probability, with a normal interval for the accuracy of these rows if the probabilities are calibrated; null without rows.',
      ),
      skippedRows: count,
      calibration: z.object({
        labelledRows: count,
        expected: z.number().nullable(),
        observed: z.number().nullable(),
      }),
    })
    .describe(
      'Expected accuracy without labels, valid only for a calibrated classifier; calibration compares it with the labels that did come.',
    ),
});
/** One version's live performance, as the admin API answers it. */
export type VersionPerformance = z.output<typeof VersionPerformanceSchema>;

export const PerformanceReportSchema = z.object({
  model: z.string(),
  takenAt: z.string().describe("ISO 8601 time of the report (the latest replica's, for a sum)."),
  confidence: z.number().gt(0).lt(1).describe('Confidence level of every interval (0.95).'),
  versions: z.array(VersionPerformanceSchema),
});
/** `GET /admin/v1/models/{model}/performance`. */
export type PerformanceReport = z.output<typeof PerformanceReportSchema>;

/** No labels and no estimate yet. */
export function emptyLabelCounts(): LabelCounts {
  return {
    labelled: 0,
    correct: 0,
    classes: [],
    confusion: [[0]],
    calibration: { rows: 0, correct: 0, sumTopProbability: 0 },
    estimate: { rows: 0, sumTopProbability: 0, sumTopProbabilitySquared: 0, skippedRows: 0 },
  };
}

/**
 * The counts of two processes as one: matrices added class by class (the union of classes in
 * first-seen order, `a`'s first, at most 64; the rest pooled as "other"), every other count added.
 */
export function addLabelCounts(a: LabelCounts, b: LabelCounts): LabelCounts {
  const classes = [...a.classes];
  for (const name of b.classes)
    if (!classes.includes(name) && classes.length < MAX_LABEL_CLASSES) classes.push(name);
  const other = classes.length;
  const confusion = Array.from({ length: other + 1 }, () => new Array<number>(other + 1).fill(0));
  for (const side of [a, b]) {
    const to = [...side.classes.map((name) => classes.indexOf(name)), other].map((at) =>
      at === -1 ? other : at,
    );
    side.confusion.forEach((row, t) => {
      row.forEach((cell, p) => {
        const target = confusion[to[t] ?? other] as number[];
        const column = to[p] ?? other;
        target[column] = (target[column] ?? 0) + cell;
      });
    });
  }
  return {
    labelled: a.labelled + b.labelled,
    correct: a.correct + b.correct,
    classes,
    confusion,
    calibration: {
      rows: a.calibration.rows + b.calibration.rows,
      correct: a.calibration.correct + b.calibration.correct,
      sumTopProbability: a.calibration.sumTopProbability + b.calibration.sumTopProbability,
    },
    estimate: {
      rows: a.estimate.rows + b.estimate.rows,
      sumTopProbability: a.estimate.sumTopProbability + b.estimate.sumTopProbability,
      sumTopProbabilitySquared: a.estimate.sumTopProbabilitySquared + b.estimate.sumTopProbabilitySquared,
      skippedRows: a.estimate.skippedRows + b.estimate.skippedRows,
    },
  };
}
