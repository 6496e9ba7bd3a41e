/**
 * `npm run bench:detection`: how fast, and how reliably, a bad canary is rolled back.
 *
 * Seeded synthetic traffic of a known ground truth, in simulated seconds (no waiting), replayed to
 * modelship's sequential judge (`analysis/sequential-judge.ts`, the workflow's own code) and to two
 * reference judges written to the published defaults (Flagger-style, Argo-style), on the same
 * generated traffic. Prints a table and writes `bench/results/detection.json` (method and targets in it).
 *
 * Options: --runs N (per scenario, default 1000), --seed S (default 20261122), --quick (100 runs).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AnalysisLimits } from '../analysis/judge.ts';
import { ModelDeploymentSchema } from '../specs/schema.ts';
import {
  type JudgeOutcome,
  type RunResult,
  runSeed,
  type Scenario,
  type SimulationConfig,
  simulateRun,
} from './detection/simulate.ts';
import { machineInfo, median } from './lib/machine.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    seed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const RUNS = Number(values.runs ?? (values.quick ? 100 : 1000));
const SEED = Number(values.seed ?? 20261122);

// The spec's default limits, exactly as an empty `analysis:` block parses.
const analysisDefaults = ModelDeploymentSchema.shape.spec.shape.analysis.parse(undefined);
const defaultLimits: AnalysisLimits = {
  errorRate: analysisDefaults.errorRate,
  latencyP99: analysisDefaults.latencyP99,
  disagreement: analysisDefaults.disagreement,
};

const config: SimulationConfig = {
  requestsPerSecond: 100,
  canaryShare: 0.1,
  durationSeconds: 3600,
  tickSeconds: 10,
  alpha: 0.01,
  minEffect: analysisDefaults.minEffect,
  minRequests: 100,
  defaultLimits,
  flagger: { intervalSeconds: 60, maxErrorRate: 0.01, threshold: 5 },
  argo: { intervalSeconds: 300, maxErrorRate: 0.01, failureLimit: 3 },
};

const STABLE_SLOW = 0.004;
const LATENCY_LIMIT = '250ms';
const scenarios: Scenario[] = [];
for (const baseline of [0.001, 0.01]) {
  for (const factor of [1, 2, 5, 20]) {
    scenarios.push({
      name: `errors ${baseline * 100} % ×${factor}`,
      healthy: factor === 1,
      stable: { errorRate: baseline, slowShare: STABLE_SLOW },
      candidate: { errorRate: baseline * factor, slowShare: STABLE_SLOW },
      referenceChecksLatency: false,
    });
  }
}
scenarios.push({
  name: `latency slow ×5 (p99 ≤ ${LATENCY_LIMIT})`,
  healthy: false,
  stable: { errorRate: 0.001, slowShare: STABLE_SLOW },
  candidate: { errorRate: 0.001, slowShare: STABLE_SLOW * 5 },
  latencyP99Max: LATENCY_LIMIT,
  referenceChecksLatency: true,
});
scenarios.push({
  name: `latency healthy (p99 ≤ ${LATENCY_LIMIT})`,
  healthy: true,
  stable: { errorRate: 0.001, slowShare: STABLE_SLOW },
  candidate: { errorRate: 0.001, slowShare: STABLE_SLOW },
  latencyP99Max: LATENCY_LIMIT,
  referenceChecksLatency: true,
});

const METHOD = [
  `Synthetic traffic in simulated seconds from a seeded mulberry32 generator (seed per scenario and run), no waiting.`,
  `${config.requestsPerSecond} requests/s; each request goes to the candidate with probability ${config.canaryShare}; counts drawn per ${config.tickSeconds} s tick (binomial: exact inversion, normal approximation when n·p·(1−p) > 50).`,
  `Latency per request in the data plane's buckets (LATENCY_BUCKETS): fast requests in (1,2.5], (2.5,5], (5,10] ms (30/55/15 %), slow ones in (0.5,1] s; stable slow share ${STABLE_SLOW}; the latency regression multiplies the candidate's slow share by 5 (p99 moves from ~10 ms to the slow bucket, above the ${LATENCY_LIMIT} limit).`,
  `Each run is one simulated hour. modelship's judgeSequential (alpha ${config.alpha}, minEffect ${config.minEffect}, minRequests ${config.minRequests}, durationMs 1 h, limits = the spec defaults parsed from an empty analysis block, latencyP99.max ${LATENCY_LIMIT} in the latency scenarios) is asked every ${config.tickSeconds} simulated seconds on windows cumulative since the step start (built with analysis/window.ts from cumulative counters), with the previous verdict passed back; the run ends for it at its first fail or pass (an early pass ends the step: the canary would be promoted).`,
  `Flagger-style: every ${config.flagger.intervalSeconds} s, candidate error rate over the last ${config.flagger.intervalSeconds} s > ${config.flagger.maxErrorRate} is a failed check; rollback when failed checks (cumulative) reach ${config.flagger.threshold}.`,
  `Argo-style: every ${config.argo.intervalSeconds} s, candidate error rate over the last ${config.argo.intervalSeconds} s > ${config.argo.maxErrorRate} fails a measurement; rollback when failures exceed failureLimit ${config.argo.failureLimit} (the ${config.argo.failureLimit + 1}th failure).`,
  `In the latency scenarios the reference judges also fail a check when the candidate's p99 over the interval (histogram_quantile estimate, analysis/histogram.ts) exceeds ${LATENCY_LIMIT}; in the error scenarios they check the error rate only.`,
  `Bad responses = candidate errors served up to and including the read that rolled back. Medians of canary requests and bad responses are over the runs that rolled back; median_bad_responses_all_runs counts a run without rollback with the whole hour's bad responses (used for the ×5 fewer than Flagger-style target).`,
];

type JudgeName = 'sequential' | 'flagger' | 'argo';
const JUDGES: JudgeName[] = ['sequential', 'flagger', 'argo'];

interface JudgeSummary {
  runs: number;
  /** Share of runs rolled back within the hour (on a healthy scenario: the false rollback rate). */
  rollback_rate: number;
  detection_rate: number | null;
  false_rollback_rate: number | null;
  /** Sequential only: share of runs passed (early or at the end of the hour). */
  pass_rate?: number;
  early_pass_rate?: number;
  median_seconds_to_rollback: number | null;
  median_canary_requests_before_rollback: number | null;
  median_bad_responses_before_rollback: number | null;
  p90_bad_responses_before_rollback: number | null;
  /** Over every run: bad responses until rollback, or over the whole hour when not rolled back. */
  median_bad_responses_all_runs: number;
}

function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}

function summarize(outcomes: JudgeOutcome[], healthy: boolean, judge: JudgeName): JudgeSummary {
  const failed = outcomes.filter((o) => o.outcome === 'fail');
  const rate = failed.length / outcomes.length;
  const med = (pick: (o: JudgeOutcome) => number) => (failed.length ? median(failed.map(pick)) : null);
  return {
    runs: outcomes.length,
    rollback_rate: rate,
    detection_rate: healthy ? null : rate,
    false_rollback_rate: healthy ? rate : null,
    ...(judge === 'sequential'
      ? {
          pass_rate: outcomes.filter((o) => o.outcome === 'pass').length / outcomes.length,
          early_pass_rate:
            outcomes.filter((o) => o.outcome === 'pass' && (o.atSeconds ?? 0) < config.durationSeconds)
              .length / outcomes.length,
        }
      : {}),
    median_seconds_to_rollback: med((o) => o.atSeconds ?? 0),
    median_canary_requests_before_rollback: med((o) => o.canaryRequests),
    median_bad_responses_before_rollback: med((o) => o.badResponses),
    p90_bad_responses_before_rollback: quantile(
      failed.map((o) => o.badResponses),
      0.9,
    ),
    median_bad_responses_all_runs: median(outcomes.map((o) => o.badResponses)),
  };
}

// Time per sequential judge call first, on a short sample.
const [firstScenario] = scenarios;
if (!firstScenario) throw new Error('no scenarios');
const probe = simulateRun(config, firstScenario, runSeed(SEED, 999, 0));
console.log(
  `detection: ${probe.judgeCalls} sequential judge calls in ${probe.judgeMs.toFixed(1)} ms ` +
    `(${((probe.judgeMs / probe.judgeCalls) * 1000).toFixed(0)} µs per call); ${RUNS} runs per scenario, seed ${SEED}`,
);

const started = performance.now();
const results: Record<string, { scenario: Scenario; judges: Record<JudgeName, JudgeSummary> }> = {};
let judgeCalls = 0;
let judgeMs = 0;
for (const [index, scenario] of scenarios.entries()) {
  if (values.only && !scenario.name.includes(values.only)) continue;
  const t0 = performance.now();
  const runs: RunResult[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const result = simulateRun(config, scenario, runSeed(SEED, index, run));
    judgeCalls += result.judgeCalls;
    judgeMs += result.judgeMs;
    runs.push(result);
  }
  const judges = Object.fromEntries(
    JUDGES.map((judge) => [
      judge,
      summarize(
        runs.map((r) => r[judge]),
        scenario.healthy,
        judge,
      ),
    ]),
  ) as Record<JudgeName, JudgeSummary>;
  results[scenario.name] = { scenario, judges };
  console.log(`  ${scenario.name}: ${RUNS} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const elapsedSeconds = (performance.now() - started) / 1000;

// ---------------------------------------------------------------------------------------------
// Table

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
const num = (v: number | null) => (v === null ? '—' : String(Math.round(v)));
const rows: string[][] = [
  ['scenario', 'judge', 'rollback', 'kind', 'median s', 'median canary req', 'median bad', 'p90 bad'],
];
for (const [name, { scenario, judges }] of Object.entries(results)) {
  for (const judge of JUDGES) {
    const s = judges[judge];
    rows.push([
      name,
      judge === 'sequential' ? 'modelship sequential' : judge === 'flagger' ? 'Flagger-style' : 'Argo-style',
      pct(s.rollback_rate),
      scenario.healthy ? 'false rollback' : 'detected',
      num(s.median_seconds_to_rollback),
      num(s.median_canary_requests_before_rollback),
      num(s.median_bad_responses_before_rollback),
      num(s.p90_bad_responses_before_rollback),
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
// Targets

interface Target {
  name: string;
  met: boolean | null;
  detail: string;
}
const targets: Target[] = [];
for (const [name, { scenario, judges }] of Object.entries(results)) {
  if (!scenario.healthy) continue;
  const rate = judges.sequential.false_rollback_rate ?? 1;
  targets.push({
    name: `false rollback ≤ alpha (${config.alpha}) on healthy "${name}"`,
    met: rate <= config.alpha,
    detail: `${(rate * 100).toFixed(2)} % over ${judges.sequential.runs} runs`,
  });
}
for (const baseline of [0.001, 0.01]) {
  for (const factor of [5, 20]) {
    const name = `errors ${baseline * 100} % ×${factor}`;
    const entry = results[name];
    if (!entry) continue;
    const seq = entry.judges.sequential;
    const fl = entry.judges.flagger;
    const bad = seq.median_bad_responses_before_rollback;
    targets.push({
      name: `"${name}": median bad responses ≤ 20`,
      met: bad !== null && bad <= 20 && (seq.detection_rate ?? 0) >= 0.5,
      detail: `median ${num(bad)} (detected in ${pct(seq.detection_rate)} of runs)`,
    });
    const flBad = fl.median_bad_responses_before_rollback;
    // A judge that rolls back in few runs lets the others serve the whole hour: the comparison uses
    // the median over all runs, an undetected run counting every bad response of the hour.
    const flMedianAll = fl.median_bad_responses_all_runs;
    targets.push({
      name: `"${name}": ≥ 5× fewer median bad responses than Flagger-style`,
      met: bad !== null && flMedianAll !== null && bad * 5 <= flMedianAll,
      detail:
        `modelship ${num(bad)} vs Flagger-style ${num(flMedianAll)} (median over all runs, undetected runs counting the ` +
        `whole hour; Flagger-style detected ${pct(fl.detection_rate)}, median over its detected runs ${num(flBad)})`,
    });
  }
}
{
  const entry = results['errors 0.1 % ×2'];
  if (entry) {
    const rate = entry.judges.sequential.detection_rate ?? 0;
    targets.push({
      name: '"errors 0.1 % ×2" detected within the hour in ≥ 90 % of runs',
      met: rate >= 0.9,
      detail: `${pct(rate)}`,
    });
  }
}
console.log('\nTargets:');
for (const target of targets)
  console.log(`  ${target.met ? 'MET   ' : 'MISSED'} ${target.name}: ${target.detail}`);
console.log(
  `\n${Object.keys(results).length} scenarios × ${RUNS} runs in ${elapsedSeconds.toFixed(1)} s; ` +
    `${judgeCalls} sequential judge calls, ${((judgeMs / judgeCalls) * 1000).toFixed(0)} µs each`,
);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'detection.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify(
    {
      benchmark: 'detection',
      date: new Date().toISOString(),
      machine: machineInfo(),
      seed: SEED,
      runs_per_scenario: RUNS,
      elapsed_seconds: Math.round(elapsedSeconds * 10) / 10,
      sequential_judge_calls: judgeCalls,
      sequential_judge_us_per_call: Math.round((judgeMs / judgeCalls) * 1000),
      method: METHOD,
      config,
      scenarios: results,
      targets,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${out}`);
