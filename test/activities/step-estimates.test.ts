/**
 * Sizing analysis steps before a rollout: which traffic the estimate rests on, the weight each
 * step runs at, and the warning people see for a step too short to reach a verdict.
 */
import { describe, expect, it } from 'vitest';
import { estimateSteps, trafficUsed } from '../../activities/step-estimates.ts';
import { parseSpec } from '../../specs/parse.ts';
import { estimateLines } from '../../workflows/status.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

function spec(steps: string[], analysis = '') {
  const parsed = parseSpec(exampleSpecYaml({ dataset: 'iris', version: 'v2', steps, analysis }), {
    file: 'iris.yaml',
  });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  return parsed.spec;
}

describe('trafficUsed', () => {
  const analysis = spec(['setWeight: 100']).spec.analysis;
  const now = Date.parse('2026-11-22T12:00:00Z');
  it("takes stable's measured rate once the data plane has counted long enough", () => {
    const stable = {
      countingSince: '2026-11-22T11:58:00Z',
      requests: 12_000,
      errors: { bad_request: 6, inference: 6, non_finite: 0 },
    };
    expect(trafficUsed(stable, analysis, now)).toEqual({
      requestsPerSecond: 100,
      errorRate: 0.001,
      source: 'data plane',
      observedSeconds: 120,
    });
  });

  it('falls back to analysis.expectedTraffic, then to nothing', () => {
    const young = { countingSince: '2026-11-22T11:59:50Z', requests: 500, errors: {} };
    const withExpected = spec(
      ['setWeight: 100'],
      '  analysis:\n    expectedTraffic: { requestsPerSecond: 40 }\n',
    );
    expect(trafficUsed(young, withExpected.spec.analysis, now)).toEqual({
      requestsPerSecond: 40,
      errorRate: 0,
      source: 'spec',
    });
    expect(trafficUsed(undefined, analysis, now)).toEqual({
      requestsPerSecond: 0,
      errorRate: 0,
      source: 'none',
    });
  });
});

describe('estimateSteps', () => {
  it('sizes each analysis step at the weight it runs at and flags the short ones', () => {
    const parsed = spec([
      'setWeight: 5',
      'analysis: { duration: 1m }',
      'setWeight: 50',
      'analysis: { duration: 10m }',
      'setWeight: 100',
    ]);
    const traffic = {
      requestsPerSecond: 100,
      errorRate: 0,
      source: 'data plane' as const,
      observedSeconds: 600,
    };
    const estimates = estimateSteps(parsed.spec.rollout.steps, parsed.spec.analysis, traffic);
    expect(estimates.map((e) => [e.stepIndex, e.candidateWeight, e.fits])).toEqual([
      [1, 5, false],
      [3, 50, true],
    ]);
    // A clean candidate at 5 % of 100 req/s needs a few thousand requests: far more than a minute.
    expect(estimates[0]?.passMs).toBeGreaterThan(5 * 60_000);
    const lines = estimateLines({ traffic, steps: estimates });
    expect(lines[0]).toBe('traffic: 100.0 req/s, stable error rate 0.00 % (measured over 600 s)');
    expect(lines[1]).toMatch(
      /^step 2 \(analysis 1m at 5 %\): a healthy candidate passes in ≈ [\d.]+m: likely inconclusive, the step is shorter than a pass needs$/,
    );
    expect(lines[2]).toMatch(/^step 4 \(analysis 10m at 50 %\): a healthy candidate passes in ≈ [\d.]+[sm]$/);
  });
});
