/**
 * The deeper validation report in the model BOM: what the model card of a bundle states beyond
 * the headline metrics, from the report's `analysis` and `explanations` (`model/report/`).
 *
 * - Per-class precision, recall and F1, calibration (ECE, Brier score) and the accuracy of every
 *   listed slice group are `quantitativeAnalysis.performanceMetrics`, each with its `slice`
 *   (`class=1`, `holdout`, `region="north"`): CycloneDX's own place for metrics of a subset.
 * - What the card has no field for (support, the confusion matrix, slice verdicts, permutation
 *   importance and its shift against the stable version) are `modelship:` properties of the card.
 * - The holdout's slice columns and the rows of each group describe the data, so they are
 *   properties of the holdout dataset component.
 *
 * Everything comes from the report and is already bounded there (classes, groups, features), so
 * the BOM stays bounded too. Reports from before the analysis existed add nothing.
 */
import type { ValidationReport } from '../../model/validation-report.ts';
import type { CdxPerformanceMetric, CdxProperty } from './cyclonedx.ts';

type Analysed = Pick<ValidationReport, 'analysis' | 'explanations'>;

/** Four decimals: what a reader compares, without float noise. */
const show = (value: number) => String(Number(value.toFixed(4)));

/** Per-class, calibration and slice metrics for the model card. */
export function analysisMetrics(report: Analysed): CdxPerformanceMetric[] {
  const { analysis } = report;
  if (!analysis) return [];
  const metrics: CdxPerformanceMetric[] = analysis.classes.perClass.flatMap((cls) =>
    (['precision', 'recall', 'f1'] as const).map((type) => ({
      type,
      value: show(cls[type]),
      slice: `class=${cls.class}`,
    })),
  );
  const calibration = analysis.calibration;
  if (calibration && 'ece' in calibration) {
    metrics.push(
      { type: 'expectedCalibrationError', value: show(calibration.ece), slice: 'holdout' },
      { type: 'brierScore', value: show(calibration.brier), slice: 'holdout' },
    );
  }
  for (const slice of analysis.slices ?? []) {
    for (const group of slice.groups) {
      metrics.push({
        type: 'accuracy',
        value: show(group.accuracy),
        slice: `${slice.column}=${JSON.stringify(group.value)}`,
      });
    }
  }
  return metrics;
}

/** What the card has no field for, as properties; see the module comment. */
export function analysisProperties(report: Analysed): CdxProperty[] {
  const { analysis, explanations } = report;
  const properties: CdxProperty[] = [];
  if (analysis) {
    const { perClass, confusion } = analysis.classes;
    properties.push(
      ...perClass.map((cls) => ({
        name: `modelship:class:${cls.class}`,
        value: `support ${cls.support}, predicted ${cls.predicted}`,
      })),
      {
        name: 'modelship:confusionMatrix',
        value: JSON.stringify({
          classes: confusion.classes,
          ...(confusion.otherClasses > 0 ? { otherClasses: confusion.otherClasses } : {}),
          matrix: confusion.matrix,
        }),
      },
    );
    const calibration = analysis.calibration;
    if (calibration && 'skipped' in calibration) {
      properties.push({ name: 'modelship:calibration', value: `not measured: ${calibration.skipped}` });
    } else if (calibration) {
      properties.push({
        name: 'modelship:calibration',
        value: `output ${calibration.output}, ${calibration.binCount} equal-width bins, max gap ${show(calibration.maxGap)}`,
      });
    }
    for (const slice of analysis.slices ?? []) {
      const floors = [
        slice.minAccuracy !== undefined ? `min accuracy ${slice.minAccuracy}` : '',
        slice.maxAccuracyGap !== undefined ? `max gap ${slice.maxAccuracyGap}` : '',
        `judged from ${slice.minRows} rows`,
      ].filter(Boolean);
      properties.push({
        name: `modelship:slice:${slice.column}`,
        value: `${slice.passed ? 'passed' : `failed (${slice.failingGroups} group(s))`}; ${floors.join(', ')}; ${slice.groupCount} group(s)`,
      });
    }
  }
  const importance = explanations?.importance;
  if (importance) {
    properties.push({
      name: 'modelship:importance:method',
      value: `permutation, drop in accuracy from ${show(importance.baseline)}, ${importance.repeats} repeats on ${importance.rows} rows, seed ${importance.seed}${importance.complete ? '' : ', stopped by its time budget'}`,
    });
    importance.features.forEach((feature, rank) => {
      properties.push({
        name: `modelship:importance:${feature.feature}`,
        value: `${show(feature.mean)} ± ${show(feature.std)} (rank ${rank + 1})`,
      });
    });
  }
  const shift = explanations?.shift;
  if (shift) {
    properties.push({
      name: 'modelship:importance:shift',
      value: `against stable ${shift.stable.version}: ${shift.overlap} of the top ${shift.k} shared, Kendall tau ${shift.kendallTau === null ? 'undefined' : show(shift.kendallTau)} over ${shift.commonFeatures} features`,
    });
  } else if (explanations?.shiftUnavailable) {
    properties.push({
      name: 'modelship:importance:shift',
      value: `not compared: ${explanations.shiftUnavailable}`,
    });
  }
  return properties;
}

/** The slice columns of the holdout and the rows of each listed group, for the holdout dataset. */
export function holdoutSliceProperties(report: Analysed): CdxProperty[] {
  return (report.analysis?.slices ?? []).map((slice) => ({
    name: `modelship:holdout:slice:${slice.column}`,
    value:
      slice.groups.map((group) => `${JSON.stringify(group.value)}: ${group.rows}`).join(', ') +
      (slice.groupCount > slice.groups.length ? `, and ${slice.groupCount - slice.groups.length} more` : ''),
  }));
}
