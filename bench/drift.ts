/**
 * `npm run bench:drift`: how soon, and how reliably, a promoted model's drift and decay are caught.
 *
 * Seeded simulations in simulated time (no waiting), replayed to modelship's monitor tests
 * (`analysis/drift.ts`: the drift test and the floor test, the code `MonitorModel` runs) and to the
 * usual fixed-window checks at their common defaults, on the same rows: PSI > 0.2 and a two-sample
 * KS test (p < 0.05) on daily windows of an input feature, and the day's accuracy against the
 * floor for the labels. Prints a table and writes `bench/results/drift.json` (method, parameters,
 * seeds, machine and targets in it).
 *
 * Options: --runs N (drifted runs per scenario, default 200), --null-runs N (undrifted days,
 * default 500), --seed S (default 20261205), --alpha A (each test's, default 0.01), --quick (a
 * tenth of the runs), --only <text> (scenarios whose name contains it).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../test/support/seeded-random.ts';
import { type Detection, type InputConfig, type InputMethod, simulateInputRun } from './drift/inputs.ts';
import { accuracyAfterFlip, type LabelConfig, type LabelMethod, simulateLabelRun } from './drift/labels.ts';
import { quantileOrNull, seedOf, wilson } from './drift/stats.ts';
import { machineInfo } from './lib/machine.ts';
import { writeResultsFile } from './lib/results-file.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    'null-runs': { type: 'string' },
    seed: { type: 'string' },
    alpha: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const scale = values.quick ? 0.1 : 1;
const RUNS = Number(values.runs ?? Math.round(200 * scale));
const NULL_RUNS = Number(values['null-runs'] ?? Math.round(500 * scale));
const LONG_RUNS = Math.max(5, Math.round(40 * scale));
const SEED = Number(values.seed ?? 20261205);
/** The whole alpha of each test; a monitor gives each of its tests a share of the spec's alpha. */
const ALPHA = Number(values.alpha ?? 0.01);

const input: InputConfig = {
  referenceRows: 500,
  bins: 10,
  rowsPerLook: 200,
  lookMinutes: 5,
  alpha: ALPHA,
  psiThreshold: 0.2,
  ksP: 0.05,
};
const labels: LabelConfig = {
  rowsPerLook: 200,
  lookMinutes: 5,
  labelledShare: 0.5,
  labelDelayLooks: 12,
  floor: 0.9,
  alpha: ALPHA,
};
const HEALTHY_ACCURACY = 0.95;
/** Drift begins at a uniformly random time in the second day, after a full day of undrifted traffic. */
const CHANGE_FROM_HOURS = 24;
const CHANGE_SPAN_HOURS = 24;
const DRIFT_DAYS = 5;
const LONG_DAYS = 14;
const RAMP_HOURS = 6;

type Method = InputMethod | LabelMethod;
interface Scenario {
  name: string;
  kind: 'inputs' | 'labels';
  drifted: boolean;
  runs: number;
  days: number;
  description: string;
  /** Inputs: the live mean in std at a time; labels: the accuracy at a time. `change` is the drift's start. */
  at: (hours: number, change: number) => number;
}

const scenarios: Scenario[] = [
  {
    name: 'no drift, 1 day',
    kind: 'inputs',
    drifted: false,
    runs: NULL_RUNS,
    days: 1,
    description: 'undrifted N(0, 1) traffic for one day of checks, a fresh reference per run',
    at: () => 0,
  },
  {
    name: `no drift, ${LONG_DAYS} days`,
    kind: 'inputs',
    drifted: false,
    runs: LONG_RUNS,
    days: LONG_DAYS,
    description: `undrifted traffic for ${LONG_DAYS} days: live rows outnumber the reference ${(LONG_DAYS * 288 * 200) / 500}×`,
    at: () => 0,
  },
  {
    name: 'sudden shift 0.5 std',
    kind: 'inputs',
    drifted: true,
    runs: RUNS,
    days: DRIFT_DAYS,
    description: 'the mean moves by 0.5 std at a random time in the second day',
    at: () => 0.5,
  },
  {
    name: 'sudden shift 0.25 std',
    kind: 'inputs',
    drifted: true,
    runs: RUNS,
    days: DRIFT_DAYS,
    description: 'the mean moves by 0.25 std at a random time in the second day',
    at: () => 0.25,
  },
  {
    name: `gradual shift to 1 std over ${RAMP_HOURS} h`,
    kind: 'inputs',
    drifted: true,
    runs: RUNS,
    days: DRIFT_DAYS,
    description: `the mean moves linearly from 0 to 1 std over ${RAMP_HOURS} hours from a random time in the second day, then stays`,
    at: (hours, change) => Math.min(1, (hours - change) / RAMP_HOURS),
  },
  {
    name: 'labels: no change, 1 day',
    kind: 'labels',
    drifted: false,
    runs: NULL_RUNS,
    days: 1,
    description: `accuracy ${HEALTHY_ACCURACY} against a floor of ${labels.floor}`,
    at: () => HEALTHY_ACCURACY,
  },
  {
    name: 'labels: at the floor, 1 day',
    kind: 'labels',
    drifted: false,
    runs: NULL_RUNS,
    days: 1,
    description: `accuracy exactly at the floor, ${labels.floor}: the hardest case for false alarms`,
    at: () => labels.floor,
  },
  ...[0.2, 0.1].map(
    (flipped): Scenario => ({
      name: `labels: ${flipped * 100} % flipped`,
      kind: 'labels',
      drifted: true,
      runs: RUNS,
      days: DRIFT_DAYS,
      description: `from a random time in the second day the true label of ${flipped * 100} % of rows is flipped, inputs unchanged: accuracy ${HEALTHY_ACCURACY} → ${accuracyAfterFlip(HEALTHY_ACCURACY, flipped).toFixed(3)}`,
      at: (hours, change) =>
        hours >= change ? accuracyAfterFlip(HEALTHY_ACCURACY, flipped) : HEALTHY_ACCURACY,
    }),
  ),
];

const METHOD = [
  'Simulated time, no waiting; every random number from a seeded mulberry32 (one seed per scenario and run, mixed from --seed), so a run replays exactly.',
  `Input feature: a reference holdout of ${input.referenceRows} N(0, 1) rows, cut into ${input.bins} bins at its own k/${input.bins} quantiles as model/profile.ts cuts a holdout; a fresh reference per run. Live traffic: ${input.rowsPerLook} rows per ${input.lookMinutes}-minute look (${(input.rowsPerLook * 24 * 60) / input.lookMinutes} rows, ${(24 * 60) / input.lookMinutes} looks a day), each row N(shift(t), 1) at its own time within the look.`,
  `modelship: startDriftTest(reference counts, { alpha: ${input.alpha} }) then observeDrift with each look's new counts per bin; an alarm is the first look at which it reports drifted, timed at the end of that look. The whole alpha goes to this one test here (a monitor splits the spec's alpha over its tests). The reference's quantile cut passes the test's check in every run, so it uses the urn (the exact law of live bins given the reference counts, with exact Beta bounds beside it), not betting bounds; drift_test_method in the results counts runs by method.`,
  `Baselines on the same rows, checked at the end of each calendar day on that day's rows: PSI (analysis/drift.ts populationStabilityIndex, shares floored at 1e-4) of the day's bins against the reference's > ${input.psiThreshold}; a two-sample Kolmogorov–Smirnov test of the day's raw values against the reference's raw values, p < ${input.ksP} (asymptotic distribution with Stephens' correction).`,
  `Drifted scenarios: the change begins at a time uniform in [${CHANGE_FROM_HOURS}, ${CHANGE_FROM_HOURS + CHANGE_SPAN_HOURS}) hours, after at least a day of undrifted rows (${(input.rowsPerLook * 24 * 60) / input.lookMinutes / input.referenceRows}× the reference); a run lasts ${DRIFT_DAYS} days or until every method has alarmed after the change. Delay = alarm time − change start, in hours. A sequential alarm before the change is a false alarm, and that run gets no delay; a daily check that alarms before the change counts as a false alarm for that day and may still detect later.`,
  `Labels: ${labels.rowsPerLook} predictions per look; the true label comes back for ${labels.labelledShare * 100} % of them, ${(labels.labelDelayLooks * labels.lookMinutes) / 60} h after the prediction. modelship: startFloorTest(${labels.floor}, { alpha: ${labels.alpha} }) and observeFloor with the labels that arrived in each look. Baseline: at the end of each day, the accuracy of the labels that arrived that day < ${labels.floor}. Delays are counted from the change of the rows, so they include the label delay.`,
  'False-alarm rate: share of runs (one undrifted day, or the long run) with any alarm, with a 95 % Wilson interval; for the daily checks also per checked day before any change. Medians and p90 of delays count a run without detection as never (null when that rank falls on a miss).',
];

interface Summary {
  runs: number;
  false_alarm_runs: number;
  false_alarm_rate: number;
  false_alarm_ci95: [number, number];
  /** Daily checks: days checked before any change, and how many alarmed. */
  per_day?: { days: number; alarmed: number; rate: number; ci95: [number, number] };
  detected?: number;
  misses?: number;
  median_delay_hours?: number | null;
  p90_delay_hours?: number | null;
}

const round = (value: number | null, digits = 3) => (value === null ? null : Number(value.toFixed(digits)));

function summarise(detections: Detection[], drifted: boolean, daily: boolean, sticky: boolean): Summary {
  const falseAlarms = detections.filter((d) => d.falseAlarm).length;
  const summary: Summary = {
    runs: detections.length,
    false_alarm_runs: falseAlarms,
    false_alarm_rate: round(falseAlarms / detections.length, 4) ?? 0,
    false_alarm_ci95: wilson(falseAlarms, detections.length).map((v) => round(v, 4) ?? 0) as [number, number],
  };
  if (daily) {
    const days = detections.reduce((sum, d) => sum + d.checks, 0);
    const alarmed = detections.reduce((sum, d) => sum + d.alarmedChecks, 0);
    summary.per_day = {
      days,
      alarmed,
      rate: round(days === 0 ? 0 : alarmed / days, 4) ?? 0,
      ci95: wilson(alarmed, days).map((v) => round(v, 4) ?? 0) as [number, number],
    };
  }
  if (drifted) {
    // A sticky test that alarmed before the change has nothing left to detect with.
    const eligible = sticky ? detections.filter((d) => !d.falseAlarm) : detections;
    const delays = eligible.map((d) => d.delayHours ?? Number.POSITIVE_INFINITY);
    summary.detected = delays.filter(Number.isFinite).length;
    summary.misses = eligible.length - summary.detected;
    summary.median_delay_hours = round(quantileOrNull(delays, 0.5));
    summary.p90_delay_hours = round(quantileOrNull(delays, 0.9));
  }
  return summary;
}

const STICKY: Record<Method, boolean> = {
  sequential: true,
  psi_daily: false,
  ks_daily: false,
  sequential_floor: true,
  accuracy_daily: false,
};

const results: Record<string, { scenario: Omit<Scenario, 'at'>; methods: Partial<Record<Method, Summary>> }> =
  {};
const driftMethods = { urn: 0, bounds: 0 };
let driftLooks = 0;
let driftMs = 0;
let floorLooks = 0;
let floorMs = 0;
const started = performance.now();
console.log(
  `drift: seed ${SEED}, ${RUNS} drifted runs and ${NULL_RUNS} undrifted days per scenario, ${LONG_RUNS} runs of ${LONG_DAYS} days`,
);
for (const [index, scenario] of scenarios.entries()) {
  if (values.only && !scenario.name.includes(values.only)) continue;
  const t0 = performance.now();
  const detections: Partial<Record<Method, Detection[]>> = {};
  for (let run = 0; run < scenario.runs; run += 1) {
    const change = scenario.drifted
      ? CHANGE_FROM_HOURS + CHANGE_SPAN_HOURS * mulberry32(seedOf(SEED, 1000 + index, run))()
      : Number.POSITIVE_INFINITY;
    const seed = seedOf(SEED, index, run);
    const at = (hours: number) => scenario.at(hours, change);
    const outcome =
      scenario.kind === 'inputs'
        ? simulateInputRun(input, seed, at, change, scenario.days)
        : simulateLabelRun(labels, seed, at, change, scenario.days);
    if ('driftMethod' in outcome) driftMethods[outcome.driftMethod] += 1;
    if (scenario.kind === 'inputs') {
      driftLooks += outcome.looks;
      driftMs += outcome.observeMs;
    } else {
      floorLooks += outcome.looks;
      floorMs += outcome.observeMs;
    }
    for (const [method, detection] of Object.entries(outcome.methods) as [Method, Detection][]) {
      const list = detections[method] ?? [];
      list.push(detection);
      detections[method] = list;
    }
  }
  const methods: Partial<Record<Method, Summary>> = {};
  for (const [method, list] of Object.entries(detections) as [Method, Detection[]][]) {
    methods[method] = summarise(list, scenario.drifted, !STICKY[method], STICKY[method]);
  }
  const { at: _at, ...described } = scenario;
  results[scenario.name] = { scenario: described, methods };
  console.log(
    `  ${scenario.name}: ${scenario.runs} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
const elapsedSeconds = (performance.now() - started) / 1000;

// ---------------------------------------------------------------------------------------------
// Table

const LABELS: Record<Method, string> = {
  sequential: 'modelship drift test',
  psi_daily: 'PSI > 0.2, daily',
  ks_daily: 'KS p < 0.05, daily',
  sequential_floor: 'modelship floor test',
  accuracy_daily: 'accuracy < floor, daily',
};
const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(2)} %`);
const hours = (v: number | null | undefined) =>
  v === undefined ? '—' : v === null ? 'never' : `${v.toFixed(2)} h`;
const rows: string[][] = [
  [
    'scenario',
    'method',
    'false alarms (runs)',
    '95 % CI',
    'per day',
    'detected',
    'median delay',
    'p90 delay',
  ],
];
for (const [name, { scenario, methods }] of Object.entries(results)) {
  for (const [method, s] of Object.entries(methods) as [Method, Summary][]) {
    rows.push([
      name,
      LABELS[method],
      `${s.false_alarm_runs}/${s.runs} ${pct(s.false_alarm_rate)}`,
      `${pct(s.false_alarm_ci95[0])}–${pct(s.false_alarm_ci95[1])}`,
      s.per_day ? pct(s.per_day.rate) : '—',
      scenario.drifted ? `${s.detected}/${(s.detected ?? 0) + (s.misses ?? 0)}` : '—',
      scenario.drifted ? hours(s.median_delay_hours) : '—',
      scenario.drifted ? hours(s.p90_delay_hours) : '—',
    ]);
  }
}
const widths = (rows[0] ?? []).map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
for (const [i, row] of rows.entries()) {
  console.log(
    row
      .map((cell, col) => (col < 2 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)))
      .join('  '),
  );
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

// ---------------------------------------------------------------------------------------------
// Targets (issue 14): false alarms ≤ alpha and no more than the baselines'; detection ≥ 3× sooner.

interface Target {
  name: string;
  met: boolean | null;
  detail: string;
}
const targets: Target[] = [];
for (const [name, { scenario, methods }] of Object.entries(results)) {
  const ours = scenario.kind === 'inputs' ? methods.sequential : methods.sequential_floor;
  const alpha = scenario.kind === 'inputs' ? input.alpha : labels.alpha;
  const baselines = (scenario.kind === 'inputs' ? ['psi_daily', 'ks_daily'] : ['accuracy_daily']) as Method[];
  if (!ours) continue;
  if (!scenario.drifted) {
    targets.push({
      name: `"${name}": false alarms ≤ alpha (${alpha})`,
      met: ours.false_alarm_rate <= alpha,
      detail: `${ours.false_alarm_runs}/${ours.runs} runs (${pct(ours.false_alarm_rate)}, 95 % CI up to ${pct(ours.false_alarm_ci95[1])})`,
    });
    for (const baseline of baselines) {
      const theirs = methods[baseline];
      if (!theirs || scenario.days !== 1) continue;
      targets.push({
        name: `"${name}": false alarms ≤ ${LABELS[baseline]}`,
        met: ours.false_alarm_rate <= theirs.false_alarm_rate,
        detail: `${pct(ours.false_alarm_rate)} vs ${pct(theirs.false_alarm_rate)} over a day of checks`,
      });
    }
    continue;
  }
  for (const baseline of baselines) {
    const theirs = methods[baseline];
    if (!theirs) continue;
    const mine = ours.median_delay_hours ?? null;
    const other = theirs.median_delay_hours ?? null;
    const ratio = mine === null ? null : other === null ? Number.POSITIVE_INFINITY : other / mine;
    targets.push({
      name: `"${name}": median delay ≥ 3× shorter than ${LABELS[baseline]}`,
      met: ratio === null ? false : ratio >= 3,
      detail:
        `${hours(mine)} vs ${hours(other)}` +
        (ratio === null
          ? ''
          : Number.isFinite(ratio)
            ? ` (×${ratio.toFixed(1)})`
            : ' (the baseline misses in most runs)'),
    });
  }
}
console.log('\nTargets:');
for (const target of targets)
  console.log(`  ${target.met ? 'MET   ' : 'MISSED'} ${target.name}: ${target.detail}`);
const usDrift = driftLooks > 0 ? (driftMs / driftLooks) * 1000 : null;
const usFloor = floorLooks > 0 ? (floorMs / floorLooks) * 1000 : null;
console.log(
  `\n${Object.keys(results).length} scenarios in ${elapsedSeconds.toFixed(1)} s; observeDrift ${usDrift?.toFixed(1) ?? '—'} µs and observeFloor ${usFloor?.toFixed(1) ?? '—'} µs per look; drift test runs: ${driftMethods.urn} against the urn, ${driftMethods.bounds} against bounds`,
);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'drift.json');
await writeResultsFile(
  out,
  {
    benchmark: 'drift',
    date: new Date().toISOString(),
    machine: machineInfo(),
    seed: SEED,
    runs: { drifted: RUNS, undrifted_days: NULL_RUNS, long_runs: LONG_RUNS },
    elapsed_seconds: round(elapsedSeconds, 1),
    cost: {
      observe_drift_us_per_look: round(usDrift, 1),
      observe_floor_us_per_look: round(usFloor, 1),
      drift_looks: driftLooks,
      floor_looks: floorLooks,
    },
    drift_test_method: driftMethods,
    method: METHOD,
    config: {
      input,
      labels: { ...labels, healthyAccuracy: HEALTHY_ACCURACY },
      changeStartHours: [CHANGE_FROM_HOURS, CHANGE_FROM_HOURS + CHANGE_SPAN_HOURS],
      driftDays: DRIFT_DAYS,
      longDays: LONG_DAYS,
      rampHours: RAMP_HOURS,
    },
    scenarios: results,
    targets,
  },
  (line) => console.log(line),
);
console.log(`wrote ${out}`);
