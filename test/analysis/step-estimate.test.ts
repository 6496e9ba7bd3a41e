/**
 * Step estimates against what the judge does on noisy traffic: the expected-path figure should be
 * near the median of simulated runs, since people size steps by it.
 */
import { describe, expect, it } from 'vitest';
import { judgeSequential } from '../../analysis/sequential-judge.ts';
import { estimateStep } from '../../analysis/step-estimate.ts';
import { emptyWindow, type VersionWindow } from '../../analysis/window.ts';
import { ModelDeploymentSchema } from '../../specs/schema.ts';
import { mulberry32 } from '../support/seeded-random.ts';

const ANALYSIS = ModelDeploymentSchema.shape.spec.shape.analysis.parse({});

function counts(requests: number, errors: number): VersionWindow {
  return { ...emptyWindow(), requests, errors, errorRate: requests > 0 ? errors / requests : null };
}

/** Seconds until the judge decides `target` on per-request random traffic (10 s reads), or null. */
function simulate(options: {
  seed: number;
  requestsPerSecond: number;
  share: number;
  errorRate: number;
  effect: number;
  target: 'pass' | 'fail';
  horizonSeconds: number;
}): number | null {
  const random = mulberry32(options.seed);
  const c = { requests: 0, errors: 0 };
  const s = { requests: 0, errors: 0 };
  for (let second = 10; second <= options.horizonSeconds; second += 10) {
    for (let i = 0; i < options.requestsPerSecond * 10; i += 1) {
      const arm = random() < options.share ? c : s;
      const rate = arm === c ? options.errorRate * options.effect : options.errorRate;
      arm.requests += 1;
      if (random() < rate) arm.errors += 1;
    }
    const verdict = judgeSequential(
      {
        stable: counts(s.requests, s.errors),
        candidate: counts(c.requests, c.errors),
        limits: ANALYSIS,
        context: {
          elapsedMs: second * 1000,
          durationMs: options.horizonSeconds * 1000 + 1,
          minRequests: ANALYSIS.minRequests,
          candidateWeight: options.share * 100,
        },
      },
      { alpha: ANALYSIS.alpha, minEffect: ANALYSIS.minEffect },
    );
    if (verdict.outcome === options.target) return second;
    if (verdict.outcome === 'fail' || verdict.outcome === 'pass') return null;
  }
  return null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

describe('estimateStep', () => {
  it('puts the pass of a clean candidate near the median of simulated runs', () => {
    const estimate = estimateStep({
      traffic: { requestsPerSecond: 50, errorRate: 0 },
      candidateWeight: 20,
      analysis: ANALYSIS,
    });
    const times = Array.from({ length: 20 }, (_, seed) =>
      simulate({
        seed,
        requestsPerSecond: 50,
        share: 0.2,
        errorRate: 0,
        effect: 1,
        target: 'pass',
        horizonSeconds: 3600,
      }),
    );
    expect(times.every((t) => t !== null)).toBe(true);
    const simulated = median(times as number[]);
    console.info(`clean candidate: estimate ${estimate.passMs / 1000} s, simulated median ${simulated} s`);
    // Reads every 10 s: the simulated time is rounded up to the next read.
    expect(simulated).toBeGreaterThanOrEqual(estimate.passMs / 1000 - 1);
    expect(simulated).toBeLessThanOrEqual(estimate.passMs / 1000 + 20);
  });

  it('puts the fail of a ×5 regression near the median of simulated runs', () => {
    const estimate = estimateStep({
      traffic: { requestsPerSecond: 100, errorRate: 0.01 },
      candidateWeight: 10,
      analysis: ANALYSIS,
      failEffect: 5,
    });
    const times = Array.from({ length: 40 }, (_, seed) =>
      simulate({
        seed,
        requestsPerSecond: 100,
        share: 0.1,
        errorRate: 0.01,
        effect: 5,
        target: 'fail',
        horizonSeconds: 1800,
      }),
    );
    const simulated = median(times.map((t) => t ?? Number.POSITIVE_INFINITY));
    console.info(`×5 regression: estimate ${estimate.failMs / 1000} s, simulated median ${simulated} s`);
    expect(simulated / (estimate.failMs / 1000)).toBeGreaterThan(0.5);
    expect(simulated / (estimate.failMs / 1000)).toBeLessThan(2);
  });

  it('is shorter with more traffic or a larger canary, and infinite without traffic', () => {
    const at = (requestsPerSecond: number, candidateWeight: number) =>
      estimateStep({ traffic: { requestsPerSecond, errorRate: 0.001 }, candidateWeight, analysis: ANALYSIS });
    expect(at(200, 10).passMs).toBeLessThan(at(100, 10).passMs);
    expect(at(100, 50).passMs).toBeLessThan(at(100, 10).passMs);
    expect(at(100, 10).failMs).toBeLessThan(Number.POSITIVE_INFINITY);
    expect(at(0, 10).passMs).toBe(Number.POSITIVE_INFINITY);
    // A ×2 regression is found sooner at a higher baseline error rate.
    const higher = estimateStep({
      traffic: { requestsPerSecond: 100, errorRate: 0.01 },
      candidateWeight: 10,
      analysis: ANALYSIS,
    });
    expect(higher.failMs).toBeLessThan(at(100, 10).failMs);
  });
});
