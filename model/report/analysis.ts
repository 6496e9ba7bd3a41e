/**
 * The deeper validation report, assembled from the holdout and what the model answered on it:
 * per-class metrics and the confusion matrix (`classes.ts`), calibration when the model gives
 * probabilities (`calibration.ts`), metrics per slice judged against their floors (`slices.ts`);
 * and the explanations, permutation importance (`importance.ts`) and its shift against the
 * stable version. Types here are what the validation report, the bundle manifest
 * (`validation.analysis`, `validation.explanations`) and the model card read.
 */
import type { SliceSpec } from '../../specs/validation-schema.ts';
import type { HoldoutData } from '../holdout.ts';
import { type Calibration, type CalibrationSkipped, calibration } from './calibration.ts';
import { type ClassReport, classReport } from './classes.ts';
import type { ImportanceReport, ImportanceShift } from './importance.ts';
import { type SliceReport, sliceReport } from './slices.ts';

/** What the holdout says about the model beyond the headline metrics. */
export interface HoldoutAnalysis {
  classes: ClassReport;
  /** Present when the spec names a probability output. */
  calibration?: Calibration | CalibrationSkipped;
  /** One per `validation.slices` entry, in the spec's order. */
  slices?: SliceReport[];
}

/** The shift of a candidate's importances against the stable version it would replace. */
export interface StableShift extends ImportanceShift {
  stable: { version: string; bundleDigest: string };
}

/** What drives the model's predictions. */
export interface Explanations {
  /** Absent when `validation.importance.enabled` is false. */
  importance?: ImportanceReport;
  /** Present when a stable version's bundle carries an importance report to compare with. */
  shift?: StableShift;
  /** Why there is no shift (no stable version, its bundle has no importance report, …). */
  shiftUnavailable?: string;
}

export interface AnalyseHoldoutInput {
  holdout: HoldoutData;
  predictions: ArrayLike<number>;
  /** The model's class probabilities and the output they came from. */
  probabilities?: { output: string; columns: number; values: ArrayLike<number> };
  slices?: readonly SliceSpec[];
  overallAccuracy: number;
}

/** The holdout analysis; pure. Slices are looked up by column in the holdout the reader returned. */
export function analyseHoldout(input: AnalyseHoldoutInput): HoldoutAnalysis {
  const { holdout, predictions, probabilities } = input;
  const slices = (input.slices ?? []).map((spec) => {
    const slice = holdout.slices?.find((s) => s.column === spec.column);
    if (!slice) throw new Error(`slice column ${spec.column} was not read from the holdout`);
    return sliceReport({
      slice,
      spec,
      labels: holdout.labels,
      predictions,
      overallAccuracy: input.overallAccuracy,
    });
  });
  return {
    classes: classReport(holdout.labels, predictions),
    ...(probabilities
      ? {
          calibration: calibration({
            output: probabilities.output,
            labels: holdout.labels,
            predictions,
            probabilities: probabilities.values,
            columns: probabilities.columns,
          }),
        }
      : {}),
    ...(slices.length > 0 ? { slices } : {}),
  };
}
