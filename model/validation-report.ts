/**
 * What validating a model on its holdout found: the report the validate step returns, the bundle
 * manifest records and the evidence (CycloneDX model card) describes.
 */
import type { ReferenceProfile } from '../domain/reference-profile.ts';
import type { LatencySummary } from './feeding.ts';
import type { MetricResult } from './metrics.ts';
import type { Explanations, HoldoutAnalysis } from './report/analysis.ts';

export interface ValidationReport {
  /**
   * True when every metric with a threshold passed, and every judged slice met its floors (a
   * failing report travels in ValidationFailed).
   */
  passed: boolean;
  /** accuracy, f1Macro, latencyP50, latencyP99, each with its threshold when the spec sets one. */
  metrics: MetricResult[];
  latency: LatencySummary;
  holdoutRows: number;
  /** sha256 of the holdout file as read: the spec does not pin it, so the report records it. */
  holdoutSha256: string;
  interface: { ok: true };
  onnxruntimeVersion: string;
  /**
   * The holdout and the model's predictions on it, profiled (`model/profile.ts`) for drift
   * monitoring; the package step moves it to the manifest's `referenceProfile`. Only in a passing
   * report, and absent in reports of runs from before profiles existed.
   */
  profile?: ReferenceProfile;
  /**
   * Per-class metrics, confusion matrix, calibration and slices (`model/report/`); absent in
   * reports of runs from before it existed.
   */
  analysis?: HoldoutAnalysis;
  /**
   * Personal data found in the holdout and let through by the policy (`privacy.holdout: allow`),
   * masked (`supply-chain/privacy/`); absent when none was found, and in older reports.
   */
  privacy?: { holdout: HoldoutPrivacyRecord };
  /** Permutation importance and its shift against the stable version; absent in older reports. */
  explanations?: Explanations;
}

/** What the holdout's personal-data scan found, as a report keeps it: values masked, never in clear. */
export interface HoldoutPrivacyRecord {
  /** What the policy said: only `allow` lets a report with findings exist. */
  policy: 'allow';
  /** The first findings in file order; `total` counts them all. */
  findings: { kind: string; scheme?: string; row: number; line: number; column: string; masked: string }[];
  total: number;
  byKind: Record<string, number>;
  /** False when the file was longer than the scan reads; the tail was not scanned. */
  complete: boolean;
}
