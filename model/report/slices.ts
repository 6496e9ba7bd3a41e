/**
 * Metrics per slice of the holdout: for each column the spec names under `validation.slices`
 * (a column of the CSV that is not a model input, such as a region or an age band), the rows of
 * each of its values form a group, scored on its own and judged against the slice's floors, so
 * a model that is good on average but poor for one group does not ship. Pure.
 *
 * - A group with fewer rows than `minRows` is reported but not judged: on a handful of rows an
 *   accuracy says more about chance than about the model.
 * - `minAccuracy` is a floor for every judged group; `maxAccuracyGap` bounds how far a judged
 *   group's accuracy may fall below the accuracy on the whole holdout.
 * - Bounded: every group is judged, but at most {@link MAX_SLICE_GROUPS} are listed per column
 *   (failing ones first, then the largest), values are cut to {@link MAX_VALUE_LENGTH}
 *   characters, and a failure is recorded as the floor it broke, the sentence being made from
 *   the numbers when needed (`sliceFailures`): the report travels in workflow history, and 8
 *   slices of 20 listed groups stay under about 40 KB.
 */
import type { SliceSpec } from '../../specs/validation-schema.ts';
import type { HoldoutSlice } from '../holdout.ts';
import { accuracy, f1Macro } from '../metrics.ts';

/** The most groups listed per slice column. */
export const MAX_SLICE_GROUPS = 20;
/** The longest group value kept in a report, in characters. */
export const MAX_VALUE_LENGTH = 64;

/** Comparisons of measured accuracies with floors tolerate rounding in the last bits. */
const EPSILON = 1e-12;

export interface SliceGroup {
  /** The column's value for these rows (`""` for empty cells), cut to {@link MAX_VALUE_LENGTH}. */
  value: string;
  rows: number;
  accuracy: number;
  f1Macro: number;
  /** The holdout's accuracy minus this group's (positive: the group does worse). */
  gap: number;
  /** False when the group has fewer rows than the slice's `minRows`. */
  judged: boolean;
  /** True when not judged, or when it meets every floor. */
  passed: boolean;
  /** The floors it broke (only on failing groups). */
  below?: ('minAccuracy' | 'maxAccuracyGap')[];
}

export interface SliceReport {
  column: string;
  minRows: number;
  minAccuracy?: number;
  maxAccuracyGap?: number;
  /** The accuracy on the whole holdout, which gaps are measured from. */
  holdoutAccuracy: number;
  /** Groups in the holdout, judged ones included whether listed or not. */
  groupCount: number;
  /** Groups listed: failing first, then by rows, at most {@link MAX_SLICE_GROUPS}. */
  groups: SliceGroup[];
  /** Judged groups below a floor, listed or not. */
  failingGroups: number;
  passed: boolean;
}

export interface SliceInput {
  slice: HoldoutSlice;
  spec: SliceSpec;
  labels: ArrayLike<number>;
  predictions: ArrayLike<number>;
  /** Accuracy on the whole holdout, which `maxAccuracyGap` is measured from. */
  overallAccuracy: number;
}

const show = (value: number) => String(Number(value.toFixed(4)));

/** `region="north"`, the way messages name a group. */
export function groupName(column: string, value: string): string {
  return `${column}=${JSON.stringify(value)}`;
}

/** Scores and judges every group of one slice column; see the module comment. */
export function sliceReport(input: SliceInput): SliceReport {
  const { slice, spec, labels, predictions, overallAccuracy } = input;
  const members = slice.values.map(() => [] as number[]);
  slice.codes.forEach((code, row) => {
    members[code]?.push(row);
  });
  const groups = slice.values.map((value, code): SliceGroup => {
    const rows = members[code] ?? [];
    const truth = rows.map((row) => labels[row] as number);
    const guess = rows.map((row) => predictions[row] as number);
    const groupAccuracy = accuracy(truth, guess);
    const gap = overallAccuracy - groupAccuracy;
    const judged = rows.length >= spec.minRows;
    const below: NonNullable<SliceGroup['below']> = [];
    if (judged && spec.minAccuracy !== undefined && groupAccuracy < spec.minAccuracy - EPSILON) {
      below.push('minAccuracy');
    }
    if (judged && spec.maxAccuracyGap !== undefined && gap > spec.maxAccuracyGap + EPSILON) {
      below.push('maxAccuracyGap');
    }
    return {
      value: value.slice(0, MAX_VALUE_LENGTH),
      rows: rows.length,
      accuracy: groupAccuracy,
      f1Macro: f1Macro(truth, guess),
      gap,
      judged,
      passed: below.length === 0,
      ...(below.length > 0 ? { below } : {}),
    };
  });
  const listed = [...groups]
    .sort((a, b) => Number(a.passed) - Number(b.passed) || b.rows - a.rows)
    .slice(0, MAX_SLICE_GROUPS);
  return {
    column: slice.column,
    minRows: spec.minRows,
    ...(spec.minAccuracy !== undefined ? { minAccuracy: spec.minAccuracy } : {}),
    ...(spec.maxAccuracyGap !== undefined ? { maxAccuracyGap: spec.maxAccuracyGap } : {}),
    holdoutAccuracy: overallAccuracy,
    groupCount: groups.length,
    groups: listed,
    failingGroups: groups.filter((group) => !group.passed).length,
    passed: groups.every((group) => group.passed),
  };
}

/** One failing group's broken floors, one sentence each. */
function groupFailures(report: SliceReport, group: SliceGroup): string[] {
  const where = `slice ${groupName(report.column, group.value)}: ${group.rows} rows, accuracy ${show(group.accuracy)}`;
  return (group.below ?? []).map((floor) =>
    floor === 'minAccuracy'
      ? `${where} < min ${show(report.minAccuracy ?? 0)}`
      : `${where}, ${show(group.gap)} below the holdout's ${show(report.holdoutAccuracy)} > max gap ${show(report.maxAccuracyGap ?? 0)}`,
  );
}

/** Every failure of every slice, one sentence each; failing groups past the listed ones are counted. */
export function sliceFailures(reports: readonly SliceReport[]): string[] {
  return reports.flatMap((report) => {
    const listed = report.groups.filter((group) => !group.passed);
    const unlisted = report.failingGroups - listed.length;
    return [
      ...listed.flatMap((group) => groupFailures(report, group)),
      ...(unlisted > 0 ? [`slice ${report.column}: ${unlisted} more group(s) below its floors`] : []),
    ];
  });
}
