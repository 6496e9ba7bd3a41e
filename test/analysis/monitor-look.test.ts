/**
 * One look of the monitor, as a pure function: differences of cumulative counters judged by the
 * anytime-valid tests, each finding raised once and naming what a person needs; a replica restart
 * (counters going down) never invents evidence; labels and the estimate without labels judged
 * against the floor, the estimate named as one.
 */
import { describe, expect, it } from 'vitest';
import {
  type LabelCounts,
  lookAt,
  type MonitorState,
  startMonitorState,
} from '../../analysis/monitor-look.ts';
import type { LiveStatistics, ReferenceProfile } from '../../domain/reference-profile.ts';
import { defaultMonitoring } from '../../specs/monitoring-defaults.ts';

const PROFILE: ReferenceProfile = {
  schemaVersion: 1,
  holdout: { path: 'h.csv', sha256: 'c'.repeat(64), rows: 400 },
  input: 'input',
  features: [
    {
      kind: 'numeric',
      name: 'width',
      column: 0,
      edges: [1, 2, 3],
      counts: [100, 100, 100, 100],
      missing: 0,
      min: 0,
      max: 4,
      mean: 2,
      std: 1.1,
      quantiles: { p01: 0.04, p25: 1, p50: 2, p75: 3, p99: 3.96 },
    },
    { kind: 'categorical', name: 'colour', column: 1, categories: [0, 1], counts: [200, 200, 0], missing: 0 },
  ],
  predictions: { classes: ['0', '1'], counts: [200, 200] },
  labels: { classes: ['0', '1'], counts: [200, 200] },
  metrics: { accuracy: 0.95 },
};

const monitoring = defaultMonitoring();

/** Cumulative statistics: `width` and `colour` counts per bin, predictions per class, violations. */
function stats(width: number[], colour: number[], predictions: number[], violations = 0): LiveStatistics {
  const rows = width.reduce((a, b) => a + b, 0);
  return {
    model: 'm',
    version: 'v',
    bundleDigest: 'd'.repeat(64),
    since: '2026-12-05T00:00:00.000Z',
    requests: rows,
    rows,
    features: [
      { name: 'width', counts: width, missing: 0 },
      { name: 'colour', counts: colour, missing: 0 },
    ],
    predictions: { classes: ['0', '1', '7'].slice(0, predictions.length), counts: predictions },
    quality: { violations: violations ? { 'input.width': violations } : {}, rejectedRequests: 0 },
  };
}

/** Runs looks of 200 new rows each, spread as `spread(look)`, from a fresh state. */
function run(
  looks: number,
  spread: (look: number) => { width: number[]; colour: number[]; predictions: number[]; violations?: number },
  labels?: (look: number) => LabelCounts | undefined,
  floor?: number,
) {
  let state: MonitorState = startMonitorState(PROFILE, monitoring, floor, 't0');
  const total = { width: [0, 0, 0, 0], colour: [0, 0, 0], predictions: [0, 0, 0], violations: 0 };
  const found = [];
  for (let look = 1; look <= looks; look += 1) {
    const add = spread(look);
    total.width = total.width.map((n, i) => n + (add.width[i] ?? 0));
    total.colour = total.colour.map((n, i) => n + (add.colour[i] ?? 0));
    total.predictions = total.predictions.map((n, i) => n + (add.predictions[i] ?? 0));
    total.violations += add.violations ?? 0;
    const result = lookAt(
      state,
      PROFILE,
      stats(total.width, total.colour, total.predictions, total.violations),
      labels?.(look),
      monitoring,
      `t${look}`,
    );
    state = result.state;
    found.push(...result.findings.map((finding) => ({ look, finding })));
  }
  return { state, found };
}

const steady = () => ({ width: [50, 50, 50, 50], colour: [100, 100, 0], predictions: [100, 100, 0] });

describe('a look of the monitor', () => {
  it('finds nothing in 300 looks of traffic shaped like the reference', () => {
    const { found, state } = run(300, steady);
    expect(found).toEqual([]);
    expect(state.looks).toBe(300);
  });

  it('names the drifted feature and its bin, raises it once, and leaves the others alone', () => {
    const { found } = run(40, (look) =>
      look <= 10 ? steady() : { width: [10, 10, 30, 150], colour: [100, 100, 0], predictions: [100, 100, 0] },
    );
    expect(found.map((f) => f.finding.key)).toEqual(['input-drift:width']);
    const { finding, look } = found[0] as (typeof found)[number];
    expect(look).toBeGreaterThan(10);
    expect(look).toBeLessThan(20);
    expect(finding.feature).toBe('width');
    expect(finding.summary).toContain('[3, inf)');
    expect(finding.value).toBeGreaterThanOrEqual(finding.threshold);
    expect(finding.evidence).toMatchObject({ window: { from: 't0' } });
  });

  it('counts a predicted class the holdout never produced in the "other" bin', () => {
    const { found } = run(30, () => ({
      width: [50, 50, 50, 50],
      colour: [100, 100, 0],
      predictions: [60, 60, 80],
    }));
    const drift = found.find((f) => f.finding.key === 'prediction-drift');
    expect(drift?.finding.summary).toContain('a class the holdout never saw predicted');
  });

  it('invents nothing when a replica restarts and the summed counters go down', () => {
    // Two replicas each counting traffic shaped like the reference; the second restarts after the
    // first reading, so the sum drops, then both count on. A negative difference would be refused
    // by the test outright, and skewed clipping would look like drift.
    let state = startMonitorState(PROFILE, monitoring, undefined, 't0');
    const at = (n: number) => stats([n, n, n, n], [2 * n, 2 * n, 0], [2 * n, 2 * n]);
    for (const [i, reading] of [at(1000), at(600), at(700), at(1500), at(1600)].entries()) {
      const result = lookAt(state, PROFILE, reading, undefined, monitoring, `t${i}`);
      expect(result.findings).toEqual([]);
      state = result.state;
    }
  });

  it('raises data quality when violations pass the allowed share', () => {
    const { found } = run(30, () => ({ ...steady(), violations: 20 }));
    const quality = found.find((f) => f.finding.key === 'data-quality');
    expect(quality?.finding.summary).toMatch(/broke an input constraint, above the 1 % allowed/);
    expect(run(30, () => ({ ...steady(), violations: 0 })).found).toEqual([]);
  });

  it('judges live accuracy on labels against the floor', () => {
    const labelled = (accuracy: number) => (look: number) => ({
      labelled: look * 100,
      correct: Math.round(look * 100 * accuracy),
    });
    expect(run(40, steady, labelled(0.95), 0.9).found).toEqual([]);
    const low = run(40, steady, labelled(0.7), 0.9).found.find(
      (f) => f.finding.key === 'performance:accuracy',
    );
    expect(low?.finding.check).toBe('performance');
    expect(low?.finding.value).toBeCloseTo(0.7, 1);
  });

  it('uses the estimate without labels only while none came back, and says it is an estimate', () => {
    const estimate = (accuracy: number, high: number) => () => ({
      labelled: 0,
      correct: 0,
      estimate: { rows: 5000, accuracy, high },
    });
    const low = run(3, steady, estimate(0.6, 0.65), 0.9).found.map((f) => f.finding);
    expect(low.map((f) => f.key)).toEqual(['performance:estimated-accuracy']);
    expect(low[0]?.statistic).toContain('ESTIMATED');
    expect(low[0]?.evidence).toMatchObject({ estimate: true, method: 'confidence-based' });
    // The top of the interval reaches the floor: not enough to say it is below.
    expect(run(3, steady, estimate(0.85, 0.92), 0.9).found).toEqual([]);
  });

  it('keeps its state as plain JSON, so it crosses continue-as-new unchanged', () => {
    const { state } = run(20, steady);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});
