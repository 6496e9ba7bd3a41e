/**
 * The sequential judge and its arithmetic: known values, monotone evidence, a bad canary caught
 * quickly, healthy canaries read again and again without false fails (Monte Carlo, seeded).
 */
import { describe, expect, it } from 'vitest';
import {
  lgamma,
  logBeta,
  logEValueAbove,
  logEValueSameDistribution,
  logIncompleteBeta,
  proportionBounds,
} from '../../analysis/beta-binomial.ts';
import type { AnalysisLimits, JudgeContext, Verdict } from '../../analysis/judge.ts';
import { judgeSequential, sequentialJudge } from '../../analysis/sequential-judge.ts';
import { emptyWindow, type VersionWindow } from '../../analysis/window.ts';
import { mulberry32 } from '../support/seeded-random.ts';
import { type Traffic, windowOf } from './traffic.ts';

const LIMITS: AnalysisLimits = {
  errorRate: { max: 0.01 },
  latencyP99: { maxRatioToStable: 1.5 },
  disagreement: { max: 0.05 },
};
/** The same limits without an absolute error ceiling: only candidate against stable. */
const RELATIVE: AnalysisLimits = { ...LIMITS, errorRate: { maxRatioToStable: 1 } };
const context = (elapsedMs: number, durationMs = 600_000): JudgeContext => ({
  elapsedMs,
  durationMs,
  minRequests: 100,
  candidateWeight: 10,
});

/** A window with only request and error counts (the error test reads nothing else). */
function counts(requests: number, errors: number): VersionWindow {
  const window = emptyWindow();
  return {
    ...window,
    requests,
    errors,
    errorsByKind: errors > 0 ? { inference: errors } : {},
    errorRate: requests > 0 ? errors / requests : null,
  };
}

describe('log-gamma and log-beta', () => {
  it('match known values', () => {
    expect(lgamma(1)).toBeCloseTo(0, 12);
    expect(lgamma(2)).toBeCloseTo(0, 12);
    expect(lgamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(lgamma(10)).toBeCloseTo(Math.log(362880), 11);
    expect(lgamma(1e-3)).toBeCloseTo(6.907178885383853, 10);
    // log(99!) = 359.1342053695754
    expect(lgamma(100)).toBeCloseTo(359.1342053695754, 9);
    expect(logBeta(2, 3)).toBeCloseTo(Math.log(1 / 12), 12);
    expect(logBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 12);
  });

  it('the incomplete beta matches closed forms', () => {
    // I_x(1, b) = 1 − (1 − x)^b; I_x(a, 1) = x^a.
    expect(Math.exp(logIncompleteBeta(0.3, 1, 4))).toBeCloseTo(1 - 0.7 ** 4, 12);
    expect(Math.exp(logIncompleteBeta(0.8, 3, 1))).toBeCloseTo(0.8 ** 3, 12);
    expect(Math.exp(logIncompleteBeta(0.5, 7, 7))).toBeCloseTo(0.5, 12);
  });
});

describe('Beta-mixture e-values', () => {
  it('grow with the evidence against the null', () => {
    let last = Number.NEGATIVE_INFINITY;
    for (let k = 0; k <= 20; k += 1) {
      const log = logEValueAbove(k, 20, 0.1);
      expect(log).toBeGreaterThan(last);
      last = log;
    }
    // At the null's own rate there is no evidence; far above it there is a lot.
    expect(logEValueAbove(10, 100, 0.1)).toBeLessThan(0);
    expect(logEValueAbove(10, 20, 0.1)).toBeGreaterThan(Math.log(100));
  });

  it('bound the proportion around the estimate', () => {
    const { lower, upper } = proportionBounds(30, 100, 0.01);
    expect(lower).toBeLessThan(0.3);
    expect(upper).toBeGreaterThan(0.3);
    expect(lower).toBeGreaterThan(0.1);
    expect(upper).toBeLessThan(0.55);
    expect(proportionBounds(0, 0, 0.01)).toEqual({ lower: 0, upper: 1 });
  });

  it('tell a shifted class distribution from the same one', () => {
    expect(logEValueSameDistribution({ 0: 300, 1: 300, 2: 400 }, { 0: 2700, 1: 2700, 2: 3600 })).toBeLessThan(
      0,
    );
    expect(
      logEValueSameDistribution({ 0: 500, 1: 200, 2: 300 }, { 0: 2700, 1: 2700, 2: 3600 }),
    ).toBeGreaterThan(Math.log(400));
  });
});

describe('the sequential judge on errors', () => {
  it('fails a clearly bad canary after a few hundred requests', () => {
    // Candidate 10 % errors, stable 1 %, 10 % canary: reads every 10 candidate requests.
    const random = mulberry32(7);
    let cReq = 0;
    let cErr = 0;
    let sReq = 0;
    let sErr = 0;
    let verdict: Verdict | undefined;
    while (cReq < 2000) {
      for (let i = 0; i < 100; i += 1) {
        if (random() < 0.1) {
          cReq += 1;
          if (random() < 0.1) cErr += 1;
        } else {
          sReq += 1;
          if (random() < 0.01) sErr += 1;
        }
      }
      verdict = judgeSequential({
        stable: counts(sReq, sErr),
        candidate: counts(cReq, cErr),
        limits: RELATIVE,
        context: context(1000),
        ...(verdict ? { previous: verdict } : {}),
      });
      if (verdict.outcome === 'fail') break;
    }
    expect(verdict?.outcome).toBe('fail');
    expect(cReq).toBeLessThan(400);
    console.info(`bad canary failed after ${cReq} candidate requests (${cErr} errors)`);
    // The reason carries the numbers.
    expect(verdict?.reason).toContain(`${cErr}/${cReq}`);
    expect(verdict?.reason).toContain(`${sErr}/${sReq}`);
    expect(verdict?.reason).toMatch(/e-value 10\^\d/);
    const metric = verdict?.metrics[0] as { interval?: { lower: number } };
    expect(metric.interval?.lower).toBeGreaterThan(1);
  });

  it('does not fail a healthy canary read at each of 200 reads', () => {
    const random = mulberry32(11);
    let c = { requests: 0, errors: 0 };
    let s = { requests: 0, errors: 0 };
    for (let read = 1; read <= 200; read += 1) {
      for (let i = 0; i < 100; i += 1) {
        const arm = random() < 0.1 ? c : s;
        const erred = random() < 0.01 ? 1 : 0;
        if (arm === c) c = { requests: c.requests + 1, errors: c.errors + erred };
        else s = { requests: s.requests + 1, errors: s.errors + erred };
      }
      const verdict = judgeSequential({
        stable: counts(s.requests, s.errors),
        candidate: counts(c.requests, c.errors),
        limits: LIMITS,
        context: context(read * 1000, 200_000),
      });
      expect(verdict.outcome === 'fail', verdict.reason).toBe(false);
      if (read === 200) expect(['pass', 'inconclusive']).toContain(verdict.outcome);
    }
  });

  it('keeps false fails at most alpha over many healthy canaries read 50 times (Monte Carlo)', () => {
    const alpha = 0.05;
    const runs = 300;
    const random = mulberry32(2024);
    let falseFails = 0;
    for (let run = 0; run < runs; run += 1) {
      let cReq = 0;
      let cErr = 0;
      let sReq = 0;
      let sErr = 0;
      for (let look = 1; look <= 50; look += 1) {
        // 200 requests per look at 2 % errors on both arms, 10 % canary.
        for (let i = 0; i < 200; i += 1) {
          const erred = random() < 0.02;
          if (random() < 0.1) {
            cReq += 1;
            if (erred) cErr += 1;
          } else {
            sReq += 1;
            if (erred) sErr += 1;
          }
        }
        const verdict = judgeSequential(
          {
            stable: counts(sReq, sErr),
            candidate: counts(cReq, cErr),
            limits: RELATIVE,
            context: context(look),
          },
          { alpha },
        );
        if (verdict.outcome === 'fail') {
          falseFails += 1;
          break;
        }
      }
    }
    const rate = falseFails / runs;
    // The guarantee is ≤ alpha (the error test alone gets 0.6 alpha); allow binomial noise on 300 runs.
    expect(rate).toBeLessThanOrEqual(alpha + 0.025);
    console.info(`false-fail rate ${rate} over ${runs} healthy canaries x 50 looks (alpha ${alpha})`);
  });

  it('passes early when the candidate is shown not worse, inconclusive when short at the end', () => {
    const early = judgeSequential({
      stable: counts(900_000, 9000),
      candidate: counts(100_000, 1000),
      limits: LIMITS,
      context: context(1000),
    });
    expect(early.outcome).toBe('pass');
    expect(early.reason).toContain('below 1.25× stable');
    const short = judgeSequential({
      stable: counts(500, 0),
      candidate: counts(50, 0),
      limits: LIMITS,
      context: context(600_000),
    });
    expect(short.outcome).toBe('inconclusive');
    const going = judgeSequential({
      stable: counts(5000, 0),
      candidate: counts(500, 0),
      limits: LIMITS,
      context: context(1000),
    });
    expect(going.outcome).toBe('continue');
  });

  it('never passes by default: time up without evidence is inconclusive, naming the metric', () => {
    // 500 clean candidate requests: not a regression, but not evidence of a negligible rate either.
    const verdict = sequentialJudge.judge({
      stable: counts(5000, 0),
      candidate: counts(500, 0),
      limits: LIMITS,
      context: context(600_000),
    });
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reason).toMatch(/^time is up without evidence that the candidate is fine on errorRate/);
  });

  it('passes a clean candidate on its own rate, where the ratio interval says nothing', () => {
    // No errors anywhere: the ratio is 0–∞, but 5,000 clean requests put the candidate's own
    // error rate below minEffect × max = 0.25 %.
    const verdict = judgeSequential({
      stable: counts(45_000, 0),
      candidate: counts(5000, 0),
      limits: LIMITS,
      context: context(1000),
    });
    expect(verdict.outcome).toBe('pass');
    expect(verdict.reason).toContain('candidate rate shown below 0.0025');
  });

  it('fails a candidate over the absolute errorRate.max even when stable is as bad', () => {
    const verdict = judgeSequential({
      stable: counts(9000, 450),
      candidate: counts(1000, 50),
      limits: LIMITS,
      context: context(1000),
    });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toContain('error limit: candidate 50/1000');
    expect(verdict.reason).toContain('above the limit 0.01');
    // Relative limits alone see two equal arms.
    const relative = judgeSequential({
      stable: counts(9000, 450),
      candidate: counts(1000, 50),
      limits: RELATIVE,
      context: context(1000),
    });
    expect(relative.outcome).toBe('continue');
  });
});

describe('the sequential judge on latency and predictions', () => {
  const like = (requests: number, slowEvery: number, classes?: Record<string, number>): Traffic => ({
    requests,
    latencyMs: (i) => (i % slowEvery === 0 ? 80 : 1.5),
    ...(classes ? { classes } : {}),
  });

  it('flags a slow candidate by its slow-request count', () => {
    const verdict = judgeSequential({
      stable: windowOf(like(2700, 200)),
      candidate: windowOf(like(300, 10)),
      limits: { ...LIMITS, latencyP99: { max: '50ms' } },
      context: context(1000),
    });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toContain('latencyP99');
    expect(verdict.state).toEqual({ latencyThresholdMs: 50 });
  });

  it('does not flag a candidate as fast as stable, and keeps the threshold from stable p99', () => {
    const first = judgeSequential({
      stable: windowOf(like(2700, 200)),
      candidate: windowOf(like(300, 200)),
      limits: LIMITS,
      context: context(1000),
    });
    expect(first.outcome).not.toBe('fail');
    const threshold = (first.state as { latencyThresholdMs?: number }).latencyThresholdMs;
    expect(threshold).toBeGreaterThan(0);
    const second = judgeSequential({
      stable: windowOf(like(5400, 200)),
      candidate: windowOf(like(600, 200)),
      limits: LIMITS,
      context: context(2000),
      previous: first,
    });
    expect(second.state).toEqual(first.state);
  });

  it('flags a shifted class distribution and not an identical one', () => {
    const same = judgeSequential({
      stable: windowOf({ requests: 2700, classes: { 0: 900, 1: 900, 2: 900 } }),
      candidate: windowOf({ requests: 300, classes: { 0: 100, 1: 100, 2: 100 } }),
      limits: LIMITS,
      context: context(1000),
    });
    expect(same.outcome).not.toBe('fail');
    const shifted = judgeSequential({
      stable: windowOf({ requests: 2700, classes: { 0: 900, 1: 900, 2: 900 } }),
      candidate: windowOf({ requests: 300, classes: { 0: 200, 1: 50, 2: 50 } }),
      limits: LIMITS,
      context: context(1000),
    });
    expect(shifted.outcome).toBe('fail');
    expect(shifted.reason).toContain('class distribution');
  });

  it('fails shadow disagreement above the limit', () => {
    const verdict = judgeSequential({
      stable: windowOf({ requests: 2700 }),
      candidate: windowOf({ requests: 300, shadow: { compared: 300, agreed: 240 } }),
      limits: LIMITS,
      context: context(1000),
    });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toContain('60/300 mirrored rows differ');
  });
});
