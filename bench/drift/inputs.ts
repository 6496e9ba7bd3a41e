/**
 * One simulated run of a numeric input feature: a seeded reference holdout cut into quantile bins
 * (as `model/profile.ts` cuts one), then live traffic look by look, whose mean may shift at a
 * given time, suddenly or along a ramp. The same rows go to modelship's drift test (every look)
 * and to the two fixed-window baselines (at the end of each day): PSI > 0.2 on the day's bins,
 * and a two-sample KS test of the day's raw values against the reference's at p < 0.05.
 * Pure computation, no I/O: one simulated day takes a few tens of milliseconds.
 */
import { observeDrift, populationStabilityIndex, startDriftTest } from '../../analysis/drift.ts';
import { ksTwoSample, randomSource } from './stats.ts';

export interface InputConfig {
  referenceRows: number;
  bins: number;
  rowsPerLook: number;
  lookMinutes: number;
  alpha: number;
  psiThreshold: number;
  ksP: number;
}

/** The live mean, in reference standard deviations, at a time in hours. */
export type ShiftAt = (hours: number) => number;

/** Where one method stands at the end of a run: hours of its first alarm at or after the change, if any. */
export interface Detection {
  /** An alarm before the change (in a no-drift scenario: any alarm). */
  falseAlarm: boolean;
  /** Hours from the change to the first alarm at or after it; null when none came. */
  delayHours: number | null;
  /** Daily methods: days checked and days alarmed before the change. */
  checks: number;
  alarmedChecks: number;
}

export type InputMethod = 'sequential' | 'psi_daily' | 'ks_daily';

export interface InputRun {
  methods: Record<InputMethod, Detection>;
  looks: number;
  observeMs: number;
  /** Which null the drift test chose for this reference: the urn for a clean quantile cut. */
  driftMethod: 'urn' | 'bounds';
}

function binOf(edges: Float64Array, value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((edges[mid] as number) <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

const fresh = (): Detection => ({ falseAlarm: false, delayHours: null, checks: 0, alarmedChecks: 0 });

/**
 * Simulates up to `days` days. `changeHours` is when the drift begins (Infinity: never);
 * the run stops early once every method has alarmed after the change.
 */
export function simulateInputRun(
  config: InputConfig,
  seed: number,
  shiftAt: ShiftAt,
  changeHours: number,
  days: number,
): InputRun {
  const { normal } = randomSource(seed);
  const reference = Float64Array.from({ length: config.referenceRows }, normal).sort();
  const edges = new Float64Array(config.bins - 1);
  for (let k = 1; k < config.bins; k += 1) {
    edges[k - 1] = reference[Math.floor((k * config.referenceRows) / config.bins)] as number;
  }
  const referenceCounts = new Array<number>(config.bins).fill(0);
  for (const value of reference) {
    const bin = binOf(edges, value);
    referenceCounts[bin] = (referenceCounts[bin] ?? 0) + 1;
  }

  const methods: Record<InputMethod, Detection> = {
    sequential: fresh(),
    psi_daily: fresh(),
    ks_daily: fresh(),
  };
  let state = startDriftTest(referenceCounts, { alpha: config.alpha });
  let sequentialDone = false;
  const looksPerDay = Math.round((24 * 60) / config.lookMinutes);
  const rowsPerDay = looksPerDay * config.rowsPerLook;
  const dayValues = new Float64Array(rowsPerDay);
  const lookHours = config.lookMinutes / 60;
  let looks = 0;
  let observeMs = 0;

  const record = (detection: Detection, alarm: boolean, atHours: number, daily: boolean) => {
    const before = atHours <= changeHours;
    if (daily && before) {
      detection.checks += 1;
      if (alarm) detection.alarmedChecks += 1;
    }
    if (!alarm || detection.delayHours !== null) return;
    if (before) detection.falseAlarm = true;
    else detection.delayHours = atHours - changeHours;
  };

  for (let day = 0; day < days; day += 1) {
    const dayCounts = new Array<number>(config.bins).fill(0);
    for (let look = 0; look < looksPerDay; look += 1) {
      const start = (day * looksPerDay + look) * lookHours;
      const counts = new Array<number>(config.bins).fill(0);
      for (let row = 0; row < config.rowsPerLook; row += 1) {
        const hours = start + ((row + 0.5) / config.rowsPerLook) * lookHours;
        const value = normal() + (hours >= changeHours ? shiftAt(hours) : 0);
        dayValues[look * config.rowsPerLook + row] = value;
        const bin = binOf(edges, value);
        counts[bin] = (counts[bin] ?? 0) + 1;
      }
      counts.forEach((count, bin) => {
        dayCounts[bin] = (dayCounts[bin] ?? 0) + count;
      });
      if (!sequentialDone) {
        const t0 = performance.now();
        const result = observeDrift(state, counts);
        observeMs += performance.now() - t0;
        looks += 1;
        state = result.state;
        if (result.drifted) {
          // The alarm is raised when the look ends; the test stays drifted from then on.
          record(methods.sequential, true, start + lookHours, false);
          sequentialDone = true;
        }
      }
    }
    const endHours = (day + 1) * 24;
    const psi = populationStabilityIndex(referenceCounts, dayCounts);
    record(methods.psi_daily, psi > config.psiThreshold, endHours, true);
    const ks = ksTwoSample(reference, dayValues.slice().sort());
    record(methods.ks_daily, ks.p < config.ksP, endHours, true);
    // Nothing left to learn once the sequential test has alarmed and both baselines caught the change.
    if (sequentialDone && methods.psi_daily.delayHours !== null && methods.ks_daily.delayHours !== null)
      break;
  }
  return { methods, looks, observeMs, driftMethod: state.method ?? 'bounds' };
}
