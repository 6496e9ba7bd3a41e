/**
 * The approval-relevant part of a validation report, small enough for the run's state (it is in
 * every `status` answer and re-rendered into the Web UI details at each change): the weakest
 * class, the failing or weakest judged slice group, the top three features and the shift's
 * overlap with stable. Made in the workflow from the report `validateModel` already returns, so
 * no activity is added and older histories replay; the full report is in the bundle's model card.
 */
import type { ValidationReport } from '../model/validation-report.ts';

export interface ValidationSummary {
  worstClass?: { class: number; f1: number; recall: number; support: number };
  /** A failing judged group if any, else the weakest judged one. */
  slice?: { column: string; value: string; rows: number; accuracy: number; passed: boolean };
  /** The three most important features, most important first. */
  topFeatures?: { feature: string; mean: number }[];
  shift?: { stable: string; k: number; overlap: number; kendallTau: number | null };
  /** Why there is no shift, cut short. */
  shiftUnavailable?: string;
}

/** What a reader of the details needs, or undefined for a report from before the analysis. */
export function summariseValidation(
  report: Pick<ValidationReport, 'analysis' | 'explanations'>,
): ValidationSummary | undefined {
  const { analysis, explanations } = report;
  if (!analysis && !explanations) return undefined;
  const summary: ValidationSummary = {};
  const worst = [...(analysis?.classes.perClass ?? [])].sort((a, b) => a.f1 - b.f1 || a.class - b.class)[0];
  if (worst)
    summary.worstClass = { class: worst.class, f1: worst.f1, recall: worst.recall, support: worst.support };
  const groups = (analysis?.slices ?? []).flatMap((slice) =>
    slice.groups.filter((group) => group.judged).map((group) => ({ column: slice.column, group })),
  );
  const pick =
    groups.find(({ group }) => !group.passed) ??
    [...groups].sort((a, b) => a.group.accuracy - b.group.accuracy)[0];
  if (pick) {
    summary.slice = {
      column: pick.column,
      value: pick.group.value,
      rows: pick.group.rows,
      accuracy: pick.group.accuracy,
      passed: pick.group.passed,
    };
  }
  const features = explanations?.importance?.features ?? [];
  if (features.length > 0) {
    summary.topFeatures = features.slice(0, 3).map(({ feature, mean }) => ({ feature, mean }));
  }
  const shift = explanations?.shift;
  if (shift) {
    summary.shift = {
      stable: shift.stable.version,
      k: shift.k,
      overlap: shift.overlap,
      kendallTau: shift.kendallTau,
    };
  } else if (explanations?.shiftUnavailable) {
    summary.shiftUnavailable = explanations.shiftUnavailable.slice(0, 200);
  }
  return summary;
}

const four = (value: number) => String(Number(value.toFixed(4)));

/** The summary as Web UI lines, one fact each (`details.ts` joins them with `<br>`). */
export function validationSummaryLines(summary: ValidationSummary): string[] {
  const lines: string[] = [];
  if (summary.worstClass) {
    const { worstClass: c } = summary;
    lines.push(`• Weakest class: ${c.class}, F1 ${four(c.f1)}, recall ${four(c.recall)} (${c.support} rows)`);
  }
  if (summary.slice) {
    const { slice: s } = summary;
    lines.push(
      `• ${s.passed ? 'Weakest slice' : '**Failing slice**'}: ${s.column}=${JSON.stringify(s.value)}, accuracy ${four(s.accuracy)} on ${s.rows} rows`,
    );
  }
  if (summary.topFeatures) {
    lines.push(
      `• Top features: ${summary.topFeatures.map((f) => `${f.feature} (${four(f.mean)})`).join(', ')}`,
    );
  }
  if (summary.shift) {
    const { shift } = summary;
    lines.push(
      `• Against stable \`${shift.stable}\`: ${shift.overlap} of the top ${shift.k} features shared, Kendall tau ${shift.kendallTau === null ? 'undefined' : four(shift.kendallTau)}`,
    );
  } else if (summary.shiftUnavailable) {
    lines.push(`• Not compared with stable: ${summary.shiftUnavailable}`);
  }
  return lines;
}
