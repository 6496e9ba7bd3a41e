/**
 * One simulated run of a change of the label relation: the inputs stay as they were (no input
 * drift test can see it), but from some time on the true label of a share of rows is flipped, so
 * the model's accuracy falls. Labels come back for a share of rows, a fixed delay after the
 * prediction. The same labels go to modelship's floor test (at every look, as they arrive) and to
 * the usual check (at the end of each day, the accuracy of the labels that arrived that day
 * against the floor).
 */
import { observeFloor, startFloorTest } from '../../analysis/drift.ts';
import type { Detection } from './inputs.ts';
import { randomSource } from './stats.ts';

export interface LabelConfig {
  rowsPerLook: number;
  lookMinutes: number;
  /** Share of rows whose label is ever fed back. */
  labelledShare: number;
  /** Looks between a prediction and its label. */
  labelDelayLooks: number;
  floor: number;
  alpha: number;
}

export type LabelMethod = 'sequential_floor' | 'accuracy_daily';

export interface LabelRun {
  methods: Record<LabelMethod, Detection>;
  looks: number;
  observeMs: number;
}

const fresh = (): Detection => ({ falseAlarm: false, delayHours: null, checks: 0, alarmedChecks: 0 });

/** Simulates up to `days` days; `accuracyAt(hours)` is the chance a row's prediction is right. */
export function simulateLabelRun(
  config: LabelConfig,
  seed: number,
  accuracyAt: (hours: number) => number,
  changeHours: number,
  days: number,
): LabelRun {
  const { uniform } = randomSource(seed);
  const methods: Record<LabelMethod, Detection> = { sequential_floor: fresh(), accuracy_daily: fresh() };
  let state = startFloorTest(config.floor, { alpha: config.alpha });
  let sequentialDone = false;
  const looksPerDay = Math.round((24 * 60) / config.lookMinutes);
  const lookHours = config.lookMinutes / 60;
  /** Labels in flight: [correct, total] per look, arriving `labelDelayLooks` later. */
  const inFlight: Array<[number, number]> = [];
  let looks = 0;
  let observeMs = 0;

  for (let day = 0; day < days; day += 1) {
    let dayCorrect = 0;
    let dayTotal = 0;
    for (let look = 0; look < looksPerDay; look += 1) {
      const start = (day * looksPerDay + look) * lookHours;
      let correct = 0;
      let total = 0;
      for (let row = 0; row < config.rowsPerLook; row += 1) {
        if (uniform() >= config.labelledShare) continue;
        total += 1;
        const hours = start + ((row + 0.5) / config.rowsPerLook) * lookHours;
        if (uniform() < accuracyAt(hours)) correct += 1;
      }
      inFlight.push([correct, total]);
      const [arrivedCorrect, arrivedTotal] =
        inFlight.length > config.labelDelayLooks ? (inFlight.shift() ?? [0, 0]) : [0, 0];
      dayCorrect += arrivedCorrect;
      dayTotal += arrivedTotal;
      if (!sequentialDone) {
        const t0 = performance.now();
        const result = observeFloor(state, arrivedCorrect, arrivedTotal);
        observeMs += performance.now() - t0;
        looks += 1;
        state = result.state;
        if (result.belowFloor) {
          const at = start + lookHours;
          if (at <= changeHours) methods.sequential_floor.falseAlarm = true;
          else methods.sequential_floor.delayHours = at - changeHours;
          sequentialDone = true;
        }
      }
    }
    const endHours = (day + 1) * 24;
    const daily = methods.accuracy_daily;
    const alarm = dayTotal > 0 && dayCorrect / dayTotal < config.floor;
    if (endHours <= changeHours) {
      daily.checks += 1;
      if (alarm) daily.alarmedChecks += 1;
      if (alarm) daily.falseAlarm = true;
    } else if (alarm && daily.delayHours === null) {
      daily.delayHours = endHours - changeHours;
    }
    if (sequentialDone && daily.delayHours !== null) break;
  }
  return { methods, looks, observeMs };
}

/** The accuracy of a binary classifier of accuracy `accuracy` when the true label of a `flipped` share of rows is flipped. */
export function accuracyAfterFlip(accuracy: number, flipped: number): number {
  return accuracy * (1 - flipped) + (1 - accuracy) * flipped;
}
