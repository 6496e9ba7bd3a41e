/**
 * The threshold judge on crafted traffic: each metric, each outcome, and the guards that keep a
 * healthy canary from being rolled back for being small.
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisLimits, JudgeContext, JudgeInput, MetricVerdict } from '../../analysis/judge.ts';
import { judgeThresholds, shadowVerdict, thresholdJudge } from '../../analysis/threshold-judge.ts';
import type { VersionWindow } from '../../analysis/window.ts';
import { type Traffic, windowOf } from './traffic.ts';

/** The spec's default limits. */
const DEFAULTS: AnalysisLimits = {
  errorRate: { max: 0.01 },
  latencyP99: { maxRatioToStable: 1.5 },
  disagreement: { max: 0.05 },
};

const MINUTE = 60_000;
const midStep: JudgeContext = {
  elapsedMs: MINUTE,
  durationMs: 5 * MINUTE,
  minRequests: 100,
  candidateWeight: 10,
};
const atEnd: JudgeContext = { ...midStep, elapsedMs: 5 * MINUTE };

/** A healthy 10 % canary: stable serves nine times the candidate's traffic, alike in every way. */
function healthy(candidateRequests: number): { stable: Traffic; candidate: Traffic } {
  const like = (requests: number): Traffic => ({
    requests,
    errors: Math.round(requests * 0.002),
    latencyMs: (i) => (i % 100 === 0 ? 4 : 1.5),
    classes: { 0: requests * 0.3, 1: requests * 0.3, 2: requests * 0.4 },
  });
  return { stable: like(candidateRequests * 9), candidate: like(candidateRequests) };
}

function judge(
  traffic: { stable: Traffic; candidate: Traffic },
  context: JudgeContext,
  limits: AnalysisLimits = DEFAULTS,
) {
  const input: JudgeInput = {
    stable: windowOf(traffic.stable),
    candidate: windowOf(traffic.candidate),
    limits,
    context,
  };
  return judgeThresholds(input);
}

function metric(verdict: { metrics: MetricVerdict[] }, name: MetricVerdict['name']): MetricVerdict {
  const found = verdict.metrics.find((m) => m.name === name);
  if (!found) throw new Error(`no ${name} metric in ${JSON.stringify(verdict.metrics)}`);
  return found;
}

describe('threshold judge: outcomes', () => {
  it('continues while the step runs and nothing is broken', () => {
    const verdict = judge(healthy(200), midStep);

    expect(verdict.outcome).toBe('continue');
    expect(verdict.reason).toBe('watching, 1m of 5m: 200 candidate requests, no limit broken');
  });

  it('passes at the end when every limit holds on enough traffic', () => {
    const verdict = judge(healthy(200), atEnd);

    expect(verdict.outcome).toBe('pass');
    expect(verdict.metrics.map((m) => [m.name, m.passed])).toEqual([
      ['errorRate', true],
      ['latencyP99', true],
      ['disagreement', true],
    ]);
    expect(thresholdJudge.judge({ ...inputOf(healthy(200)), context: atEnd }).outcome).toBe('pass');
  });

  it('fails early, one minute in, once a limit is broken over minRequests', () => {
    const traffic = { ...healthy(100), candidate: { ...healthy(100).candidate, errors: 12 } };
    traffic.stable.errors = 0;

    const verdict = judge(traffic, midStep);

    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toBe('errorRate 0.12 > 0.01 (candidate 12/100 requests, stable 0/900)');
  });

  it('does not fail on a bad start below minRequests, and ends inconclusive if traffic stays low', () => {
    const traffic = { ...healthy(40), candidate: { ...healthy(40).candidate, errors: 10 } };

    expect(judge(traffic, midStep).outcome).toBe('continue');
    const end = judge(traffic, atEnd);
    expect(end.outcome).toBe('inconclusive');
    expect(end.reason).toBe('candidate 40 requests in 5m, fewer than minRequests (100)');
    expect(metric(end, 'errorRate')).toMatchObject({ candidate: 0.25, passed: null });
  });

  it('fails at the end when the candidate reached minRequests only then', () => {
    const slow = (requests: number) => ({
      ...healthy(requests),
      candidate: { ...healthy(requests).candidate, latencyMs: 40 },
    });

    expect(judge(slow(60), { ...midStep, elapsedMs: 4 * MINUTE }).outcome).toBe('continue');
    const verdict = judge(slow(120), atEnd);
    expect(verdict.outcome).toBe('fail');
    // Stable's p99 (2.5 ms) lies in (2.5 ms, 5 ms]: 1.5× of it is within that bucket, so 5 ms it is.
    expect(verdict.reason).toBe(
      "latencyP99 49.8ms > 5ms (timed requests: candidate 120, stable 1080, not below stable's bucket top 5ms)",
    );
  });

  it('says in the reason when a data plane restart cut the window short', () => {
    const verdict = judgeThresholds({
      ...inputOf(healthy(200)),
      candidate: { ...windowOf(healthy(200).candidate), reset: true },
      context: atEnd,
    });

    expect(verdict.outcome).toBe('pass');
    expect(verdict.reason).toContain('counters were reset by a data plane restart');
  });
});

describe('threshold judge: error rate', () => {
  const ratioOnly: AnalysisLimits = { ...DEFAULTS, errorRate: { maxRatioToStable: 2 } };
  const withErrors = (stable: number, candidate: number) => {
    const traffic = healthy(100);
    return {
      stable: { ...traffic.stable, errors: stable },
      candidate: { ...traffic.candidate, errors: candidate },
    };
  };

  it('holds the candidate to a multiple of stable', () => {
    // Stable 18/900 = 0.02, so up to 0.04 is allowed.
    expect(metric(judge(withErrors(18, 4), atEnd, ratioOnly), 'errorRate').passed).toBe(true);
    const broken = judge(withErrors(18, 5), atEnd, ratioOnly);
    expect(broken.outcome).toBe('fail');
    expect(broken.reason).toBe('errorRate 0.05 > 0.04 (candidate 5/100 requests, stable 18/900)');
  });

  it('with stable at 0 errors, lets one error pass and fails a few (floor: one error on the smaller side)', () => {
    // max(0, 1/900, 1/100) × 2 = 0.02: a single candidate error is not an infinite ratio.
    const one = judge(withErrors(0, 1), atEnd, ratioOnly);
    expect(one.outcome).toBe('pass');
    expect(metric(one, 'errorRate')).toMatchObject({ stable: 0, candidate: 0.01, bound: { value: 0.02 } });

    const three = judge(withErrors(0, 3), atEnd, ratioOnly);
    expect(three.outcome).toBe('fail');
    expect(three.reason).toBe(
      'errorRate 0.03 > 0.02 (candidate 3/100 requests, stable 0/900, floored at 0.01)',
    );
  });

  it('applies the tighter of an absolute and a relative limit', () => {
    const both: AnalysisLimits = { ...DEFAULTS, errorRate: { max: 0.03, maxRatioToStable: 10 } };

    const verdict = judge(withErrors(18, 4), atEnd, both);

    expect(metric(verdict, 'errorRate')).toMatchObject({
      limit: '≤ 0.03, ≤ 10× stable',
      bound: { value: 0.03 },
      passed: false,
    });
  });

  it('cannot compare with stable when stable served too little (e.g. at 100 %), so it does not pass', () => {
    const allCandidate = { stable: { requests: 0 }, candidate: healthy(500).candidate };

    const verdict = judge(allCandidate, atEnd, ratioOnly);

    expect(verdict.outcome).toBe('inconclusive');
    expect(metric(verdict, 'errorRate').passed).toBeNull();
    expect(verdict.reason).toContain('errorRate not judged (candidate 1/500 requests, stable 0/0)');
  });
});

describe('threshold judge: p99 latency', () => {
  it('fails a candidate slower than an absolute max', () => {
    const limits: AnalysisLimits = { ...DEFAULTS, latencyP99: { max: '5ms' } };
    const traffic = { ...healthy(100), candidate: { ...healthy(100).candidate, latencyMs: 8 } };

    const verdict = judge(traffic, midStep, limits);

    expect(verdict.outcome).toBe('fail');
    expect(metric(verdict, 'latencyP99')).toMatchObject({
      limit: '≤ 5ms',
      bound: { value: 5 },
      passed: false,
    });
  });

  it('does not read a difference inside one histogram bucket as a regression', () => {
    // Stable's p99 sits low in (1 ms, 2.5 ms] (1.15 ms), the candidate's high in it (2.49 ms):
    // 2.2× by interpolation, yet both are simply "in that bucket".
    const traffic = {
      stable: { requests: 900, latencyMs: (i: number) => (i < 890 ? 0.4 : 1.1) },
      candidate: { requests: 100, latencyMs: 2.4 },
    };

    const verdict = judge(traffic, atEnd);

    expect(metric(verdict, 'latencyP99')).toMatchObject({ passed: true, bound: { value: 2.5 } });
    expect(metric(verdict, 'latencyP99').evidence).toContain("not below stable's bucket top 2.5ms");
  });

  it('fails a candidate a bucket or more slower than 1.5× stable', () => {
    const traffic = {
      stable: { requests: 900, latencyMs: 2 },
      candidate: { requests: 100, latencyMs: 4.5 },
    };

    expect(metric(judge(traffic, atEnd), 'latencyP99').passed).toBe(false);
  });
});

describe('threshold judge: prediction disagreement', () => {
  it('on canary traffic, compares class distributions and fails a candidate predicting differently', () => {
    const traffic = healthy(200);
    traffic.candidate.classes = { 0: 60, 1: 20, 2: 120 }; // 20 % of rows moved from class 1 to 2

    const verdict = judge(traffic, atEnd);

    expect(verdict.outcome).toBe('fail');
    expect(metric(verdict, 'disagreement')).toMatchObject({ method: 'distribution', passed: false });
    expect(metric(verdict, 'disagreement').candidate).toBeGreaterThan(0.12);
    expect(verdict.reason).toMatch(/^disagreement \(distribution\) 0\.1\d+ > 0\.05 \(class distance 0\.2 − /);
  });

  it('does not count sampling noise of a small canary as disagreement', () => {
    // Same model, 100 candidate rows: the raw class distance (0.07) alone would break 0.05.
    const traffic = {
      stable: { requests: 900, classes: { 0: 300, 1: 300, 2: 300 } },
      candidate: { requests: 100, classes: { 0: 40, 1: 30, 2: 30 } },
    };

    const found = metric(judge(traffic, atEnd), 'disagreement');

    expect(found).toMatchObject({ method: 'distribution', passed: true });
    expect(found.evidence).toMatch(/^class distance 0\.067 − sampling noise 0\.059; 100 vs 900 rows$/);
  });

  it('uses paired shadow comparisons when the candidate also shadowed, even if distributions match', () => {
    const traffic = healthy(200);
    traffic.candidate.shadow = { compared: 400, agreed: 360 };

    const verdict = judge(traffic, atEnd);

    expect(metric(verdict, 'disagreement')).toMatchObject({
      method: 'shadow',
      candidate: 0.1,
      passed: false,
    });
    expect(verdict.reason).toBe('disagreement (shadow) 0.1 > 0.05 (40/400 mirrored rows differ)');
  });

  it('falls back to distributions when too few rows were mirrored to judge pairs', () => {
    const traffic = healthy(200);
    traffic.candidate.shadow = { compared: 20, agreed: 10 };

    expect(metric(judge(traffic, atEnd), 'disagreement')).toMatchObject({
      method: 'distribution',
      passed: true,
    });
  });
});

describe('shadowVerdict', () => {
  const mirrored = (shadow: NonNullable<Traffic['shadow']>): VersionWindow =>
    windowOf({ requests: 0, shadow });

  it('passes when agreement reaches minAgreement', () => {
    const verdict = shadowVerdict(mirrored({ compared: 500, agreed: 495 }), 0.98, 100);

    expect(verdict.outcome).toBe('pass');
    expect(verdict.reason).toBe('agreement (shadow) 0.99 ≥ 0.98 (495/500 mirrored rows agree)');
  });

  it('fails below minAgreement', () => {
    const verdict = shadowVerdict(mirrored({ compared: 500, agreed: 450 }), 0.98, 100);

    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toBe('agreement (shadow) 0.9 < 0.98 (450/500 mirrored rows agree)');
  });

  it('counts requests that failed on the candidate as disagreeing, so a crashing shadow fails', () => {
    const verdict = shadowVerdict(mirrored({ compared: 0, agreed: 0, errors: 300 }), 0.98, 100);

    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toContain('0/300 mirrored rows agree, 300 failed requests counted as disagreeing');
  });

  it('is inconclusive with fewer than minCompared rows, whatever they show', () => {
    const verdict = shadowVerdict(mirrored({ compared: 60, agreed: 60, dropped: 500 }), 0.98, 100);

    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reason).toBe('only 60 mirrored rows compared, fewer than 100');
    expect(verdict.metrics[0]?.evidence).toContain('500 requests dropped by a full shadow queue');
  });
});

function inputOf(traffic: { stable: Traffic; candidate: Traffic }): JudgeInput {
  return {
    stable: windowOf(traffic.stable),
    candidate: windowOf(traffic.candidate),
    limits: DEFAULTS,
    context: midStep,
  };
}
