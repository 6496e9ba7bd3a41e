/**
 * One look of the monitor at a promoted version, as a pure function: the live statistics the data
 * plane counted since the previous look, judged against the bundle's reference profile by
 * anytime-valid tests (`drift.ts`), so the chance of any false alarm stays within the spec's alpha
 * however often the monitor looks and however long it runs. `MonitorModel` carries the state
 * from look to look (and across continue-as-new); it is plain JSON.
 *
 * The spec's alpha is split evenly over the tests it turns on (one per input feature, one for the
 * predicted classes, one for data quality, one for live accuracy when labels come back): a union
 * bound, so the family's false-alarm chance is at most alpha whatever the tests' dependence.
 *
 * Live counters are cumulative per replica and summed over the fleet; a look takes per-bin
 * differences from the previous look, clipped at zero. A replica that restarts lowers the sum, so
 * for a while the others' new rows are masked: evidence is lost, never invented.
 */
import type { FeatureProfile, LiveStatistics, ReferenceProfile } from '../domain/reference-profile.ts';
import type { MonitoringSpec } from '../specs/monitoring-schema.ts';
import {
  type DriftState,
  type FloorState,
  observeDrift,
  observeFloor,
  startDriftTest,
  startFloorTest,
} from './drift.ts';

/** Which check a finding comes from. */
export type MonitorCheck = 'input-drift' | 'prediction-drift' | 'data-quality' | 'performance';

/** A confirmed problem, with what a person needs to judge it. */
export interface Finding {
  /** Stable across looks and runs: `input-drift:<feature>`, `prediction-drift`, `data-quality`, `performance:accuracy`. */
  key: string;
  check: MonitorCheck;
  /** The input feature, for input drift. */
  feature?: string;
  /** What was measured, e.g. "e-value of the binned distribution against the reference". */
  statistic: string;
  value: number;
  threshold: number;
  /** One sentence in plain words. */
  summary: string;
  /** The data it rests on: the window, the rows, the shares per bin or the rates. */
  evidence: Record<string, unknown>;
}

interface FeatureTest {
  name: string;
  test: DriftState;
  /** Live rows this test has seen. */
  rows: number;
  eValue: number;
  psi: number;
}

/** Everything a monitor remembers between looks; plain JSON. */
export interface MonitorState {
  looks: number;
  /** When the window the tests cover began (the first look's time), ISO 8601. */
  windowStart: string;
  /** The cumulative counters of the previous look, to take differences from. */
  baseline: LiveCounts | null;
  features: FeatureTest[];
  predictions: { test: DriftState; rows: number; eValue: number; psi: number; classes: string[] } | null;
  quality: { test: FloorState; rows: number; violations: number; eValue: number } | null;
  performance: {
    test: FloorState;
    floor: number;
    labelled: number;
    correct: number;
    eValue: number;
    estimate?: { rows: number; accuracy: number; high: number };
  } | null;
  /** Keys of the findings already raised: each is raised once. */
  raised: string[];
  /** Alpha given to each test. */
  alphaPerTest: number;
}

/** The cumulative numbers a look takes differences of. */
interface LiveCounts {
  features: number[][];
  missing: number[];
  predictions: Record<string, number>;
  rows: number;
  violations: number;
  labelled: number;
  correct: number;
}

/** Labels fed back for the version: cumulative, like the other counters. */
export interface LabelCounts {
  labelled: number;
  correct: number;
  /**
   * Where the model outputs class probabilities: the accuracy expected from them over `rows`
   * routed rows, with the upper end of its interval (confidence-based performance estimation;
   * only as good as the model's calibration).
   */
  estimate?: { rows: number; accuracy: number; high: number };
}

/** Where the monitor stands, for the status query, the Web UI and `modelship status`. */
export interface MonitorSummary {
  looks: number;
  windowStart: string;
  rows: number;
  features: { name: string; rows: number; eValue: number; psi: number; drifted: boolean }[];
  predictions: { rows: number; eValue: number; psi: number; drifted: boolean } | null;
  quality: { rows: number; violations: number; rate: number; drifted: boolean } | null;
  performance: {
    labelled: number;
    accuracy: number | null;
    floor: number;
    belowFloor: boolean;
    /** The estimate without labels, marked as one. */
    estimated: { rows: number; accuracy: number; estimate: true } | null;
  } | null;
  findings: string[];
}

/** The floor live accuracy is held to: the monitoring spec's, else validation's accuracy threshold. */
export function accuracyFloor(monitoring: MonitoringSpec, validationAccuracyMin: number | undefined) {
  return monitoring.checks.performance.accuracy?.min ?? validationAccuracyMin;
}

/** A fresh state for a version whose reference is `profile`; `floor` turns on the accuracy check. */
export function startMonitorState(
  profile: ReferenceProfile,
  monitoring: MonitoringSpec,
  floor: number | undefined,
  now: string,
  /** False: drift tests without the urn (`DriftTestOptions.exact`), as monitors started before it. */
  exactDrift = true,
): MonitorState {
  const tests =
    (monitoring.checks.inputDrift ? profile.features.length : 0) +
    (monitoring.checks.predictionDrift ? 1 : 0) +
    1 +
    (floor === undefined ? 0 : 1);
  const alpha = monitoring.alpha / Math.max(1, tests);
  const classes = profile.predictions.classes;
  return {
    looks: 0,
    windowStart: now,
    baseline: null,
    features: monitoring.checks.inputDrift
      ? profile.features.map((feature) => ({
          name: feature.name,
          // Quantile bins are ordered: the test also bets on location and spread across them.
          test: startDriftTest(feature.counts, {
            alpha,
            ordered: feature.kind === 'numeric',
            exact: exactDrift,
          }),
          rows: 0,
          eValue: 1,
          psi: 0,
        }))
      : [],
    predictions: monitoring.checks.predictionDrift
      ? {
          // One more bin for classes the holdout never saw predicted.
          test: startDriftTest([...profile.predictions.counts, 0], {
            alpha,
            ordered: false,
            exact: exactDrift,
          }),
          rows: 0,
          eValue: 1,
          psi: 0,
          classes,
        }
      : null,
    quality: {
      test: startFloorTest(1 - monitoring.checks.dataQuality.maxViolationRate, { alpha }),
      rows: 0,
      violations: 0,
      eValue: 1,
    },
    performance:
      floor === undefined
        ? null
        : { test: startFloorTest(floor, { alpha }), floor, labelled: 0, correct: 0, eValue: 1 },
    raised: [],
    alphaPerTest: alpha,
  };
}

function countsOf(stats: LiveStatistics, labels: LabelCounts | undefined): LiveCounts {
  const predictions: Record<string, number> = {};
  stats.predictions.classes.forEach((label, i) => {
    predictions[label] = stats.predictions.counts[i] ?? 0;
  });
  return {
    features: stats.features.map((feature) => [...feature.counts]),
    missing: stats.features.map((feature) => feature.missing),
    predictions,
    rows: stats.rows,
    violations: Object.values(stats.quality.violations).reduce((sum, n) => sum + n, 0),
    labelled: labels?.labelled ?? 0,
    correct: labels?.correct ?? 0,
  };
}

const grown = (now: number, before: number | undefined) => Math.max(0, now - (before ?? 0));

/** Human label of a feature's bin, e.g. `[4.9, 5.4)` or `value 2` or `any other value`. */
export function binLabel(feature: FeatureProfile, bin: number): string {
  if (feature.kind === 'categorical') {
    const value = feature.categories[bin];
    return value === undefined ? 'any other value' : `value ${value}`;
  }
  const low = bin === 0 ? '-inf' : String(feature.edges[bin - 1]);
  const high = bin === feature.edges.length ? 'inf' : String(feature.edges[bin]);
  return `[${low}, ${high})`;
}

const round = (value: number, digits = 4) => Number(value.toPrecision(digits));
const percent = (share: number) => `${round(share * 100, 3)} %`;

/**
 * Judges one look. `stats` is the version's cumulative live statistics summed over the fleet,
 * `labels` the labels fed back for it so far. Returns the next state, the findings raised for the
 * first time at this look, and a summary.
 */
export function lookAt(
  state: MonitorState,
  profile: ReferenceProfile,
  stats: LiveStatistics,
  labels: LabelCounts | undefined,
  monitoring: MonitoringSpec,
  now: string,
): { state: MonitorState; findings: Finding[]; summary: MonitorSummary } {
  const current = countsOf(stats, labels);
  const before = state.baseline;
  const raised = new Set(state.raised);
  const findings: Finding[] = [];
  const window = { from: state.windowStart, to: now };
  const raise = (finding: Finding) => {
    if (raised.has(finding.key)) return;
    raised.add(finding.key);
    findings.push(finding);
  };

  const features = state.features.map((entry, index) => {
    const reference = profile.features[index] as FeatureProfile;
    const now_ = current.features[index] ?? [];
    const delta = now_.map((count, bin) => grown(count, before?.features[index]?.[bin]));
    const look = observeDrift(entry.test, delta);
    const next = { ...entry, test: look.state, rows: look.rows, eValue: look.eValue, psi: look.psi };
    if (look.drifted && look.rows >= monitoring.minRows) {
      raise({
        key: `input-drift:${entry.name}`,
        check: 'input-drift',
        feature: entry.name,
        statistic: 'e-value of the live binned distribution against the reference profile',
        value: round(look.eValue),
        threshold: round(look.threshold),
        summary: `input "${entry.name}" drifted: ${look.rows} live rows, most of the change in ${binLabel(reference, look.worstBin)} (${percent(look.liveShares[look.worstBin] ?? 0)} of recent live rows against ${percent(look.referenceShares[look.worstBin] ?? 0)} of the reference); recent PSI ${round(look.psi, 3)}`,
        evidence: {
          window,
          rows: look.rows,
          bins: look.referenceShares.map((share, bin) => ({
            bin: binLabel(reference, bin),
            reference: round(share),
            live: round(look.liveShares[bin] ?? 0),
          })),
          psi: round(look.psi),
          alpha: state.alphaPerTest,
        },
      });
    }
    return next;
  });

  let predictions = state.predictions;
  if (predictions) {
    const classes = predictions.classes;
    const delta = new Array<number>(classes.length + 1).fill(0);
    for (const [label, count] of Object.entries(current.predictions)) {
      const grew = grown(count, before?.predictions[label]);
      const found = classes.indexOf(label);
      const index = found === -1 ? classes.length : found;
      delta[index] = (delta[index] ?? 0) + grew;
    }
    const look = observeDrift(predictions.test, delta);
    predictions = { ...predictions, test: look.state, rows: look.rows, eValue: look.eValue, psi: look.psi };
    if (look.drifted && look.rows >= monitoring.minRows) {
      const worst = classes[look.worstBin] ?? 'a class the holdout never saw predicted';
      raise({
        key: 'prediction-drift',
        check: 'prediction-drift',
        statistic: 'e-value of the live predicted-class distribution against the holdout predictions',
        value: round(look.eValue),
        threshold: round(look.threshold),
        summary: `predictions drifted: class ${worst} is ${percent(look.liveShares[look.worstBin] ?? 0)} of recent live predictions (${look.rows} in all) against ${percent(look.referenceShares[look.worstBin] ?? 0)} on the holdout`,
        evidence: {
          window,
          rows: look.rows,
          classes: [...classes, 'other'].map((label, bin) => ({
            class: label,
            reference: round(look.referenceShares[bin] ?? 0),
            live: round(look.liveShares[bin] ?? 0),
          })),
          alpha: state.alphaPerTest,
        },
      });
    }
  }

  let quality = state.quality;
  if (quality) {
    const rows = grown(current.rows, before?.rows);
    const violations = Math.min(rows, grown(current.violations, before?.violations));
    const look = observeFloor(quality.test, rows - violations, rows);
    quality = {
      test: look.state,
      rows: quality.rows + rows,
      violations: quality.violations + violations,
      eValue: look.eValue,
    };
    if (look.belowFloor) {
      const rate = quality.rows === 0 ? 0 : quality.violations / quality.rows;
      raise({
        key: 'data-quality',
        check: 'data-quality',
        statistic: 'share of rows breaking an input constraint',
        value: round(rate),
        threshold: monitoring.checks.dataQuality.maxViolationRate,
        summary: `data quality: ${quality.violations} of ${quality.rows} live rows (${percent(rate)}) broke an input constraint, above the ${percent(monitoring.checks.dataQuality.maxViolationRate)} allowed`,
        evidence: {
          window,
          rows: quality.rows,
          violations: stats.quality.violations,
          rejectedRequests: stats.quality.rejectedRequests,
          eValue: round(look.eValue),
          alpha: state.alphaPerTest,
        },
      });
    }
  }

  let performance = state.performance;
  if (performance) {
    const labelled = grown(current.labelled, before?.labelled);
    const correct = Math.min(labelled, grown(current.correct, before?.correct));
    const look = observeFloor(performance.test, correct, labelled);
    performance = {
      ...performance,
      test: look.state,
      labelled: performance.labelled + labelled,
      correct: performance.correct + correct,
      eValue: look.eValue,
    };
    if (labels?.estimate) performance.estimate = labels.estimate;
    // Without labels, the estimate from the model's own probabilities: raised only when even the
    // top of its interval is below the floor, and named as an estimate.
    const estimate = labels?.estimate;
    if (
      performance.labelled === 0 &&
      estimate &&
      estimate.rows >= monitoring.minRows &&
      estimate.high < performance.floor
    ) {
      raise({
        key: 'performance:estimated-accuracy',
        check: 'performance',
        statistic:
          'ESTIMATED accuracy without labels (mean top-class probability; valid only for a calibrated classifier)',
        value: round(estimate.accuracy),
        threshold: performance.floor,
        summary: `estimated accuracy ${percent(estimate.accuracy)} (at most ${percent(estimate.high)}) over ${estimate.rows} rows is below the floor of ${percent(performance.floor)}; an estimate from the model's own probabilities, no labels have come back yet`,
        evidence: { window, estimate: true, method: 'confidence-based', ...estimate },
      });
    }
    if (look.belowFloor) {
      raise({
        key: 'performance:accuracy',
        check: 'performance',
        statistic: 'recent live accuracy on labels fed back',
        value: round(look.recentEstimate),
        threshold: performance.floor,
        summary: `live accuracy fell below the floor of ${percent(performance.floor)}: ${percent(look.recentEstimate)} on recent labelled rows (${percent(look.estimate)} over all ${performance.labelled})`,
        evidence: {
          window,
          labelled: performance.labelled,
          correct: performance.correct,
          interval: look.interval.map((bound) => round(bound)),
          eValue: round(look.eValue),
          alpha: state.alphaPerTest,
        },
      });
    }
  }

  const next: MonitorState = {
    ...state,
    looks: state.looks + 1,
    baseline: current,
    features,
    predictions,
    quality,
    performance,
    raised: [...raised],
  };
  return { state: next, findings, summary: summarise(next) };
}

/** The summary of a state, for the status query and the Web UI. */
export function summarise(state: MonitorState): MonitorSummary {
  const raised = new Set(state.raised);
  return {
    looks: state.looks,
    windowStart: state.windowStart,
    rows: state.baseline?.rows ?? 0,
    features: state.features.map((feature) => ({
      name: feature.name,
      rows: feature.rows,
      eValue: round(feature.eValue),
      psi: round(feature.psi),
      drifted: raised.has(`input-drift:${feature.name}`),
    })),
    predictions: state.predictions && {
      rows: state.predictions.rows,
      eValue: round(state.predictions.eValue),
      psi: round(state.predictions.psi),
      drifted: raised.has('prediction-drift'),
    },
    quality: state.quality && {
      rows: state.quality.rows,
      violations: state.quality.violations,
      rate: state.quality.rows === 0 ? 0 : round(state.quality.violations / state.quality.rows),
      drifted: raised.has('data-quality'),
    },
    performance: state.performance && {
      labelled: state.performance.labelled,
      accuracy:
        state.performance.labelled === 0
          ? null
          : round(state.performance.correct / state.performance.labelled),
      floor: state.performance.floor,
      belowFloor: raised.has('performance:accuracy') || raised.has('performance:estimated-accuracy'),
      estimated: state.performance.estimate
        ? {
            rows: state.performance.estimate.rows,
            accuracy: round(state.performance.estimate.accuracy),
            estimate: true,
          }
        : null,
    },
    findings: [...raised],
  };
}
