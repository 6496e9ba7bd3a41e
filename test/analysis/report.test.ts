/**
 * A verdict as people see it: plain words in the Web UI's current details, and the one line in
 * logs, the audit log and rollback reasons.
 */
import { describe, expect, it } from 'vitest';
import { verdictLine, verdictMarkdown } from '../../analysis/report.ts';
import { judgeSequential } from '../../analysis/sequential-judge.ts';
import { judgeThresholds } from '../../analysis/threshold-judge.ts';
import { windowOf } from './traffic.ts';

/** A 10 % canary that breaks the error-rate limit five minutes in, its other metrics fine. */
const failing = judgeThresholds({
  stable: windowOf({ requests: 900, errors: 0, latencyMs: 2, classes: { 0: 300, 1: 300, 2: 300 } }),
  candidate: windowOf({ requests: 100, errors: 12, latencyMs: 2.2, classes: { 0: 33, 1: 33, 2: 34 } }),
  limits: { errorRate: { max: 0.01 }, latencyP99: { maxRatioToStable: 1.5 }, disagreement: { max: 0.05 } },
  context: { elapsedMs: 300_000, durationMs: 300_000, minRequests: 100, candidateWeight: 10 },
});

describe('verdict reports', () => {
  it('lead with plain words, one line per metric, the numbers below; no pipe tables', () => {
    expect(verdictMarkdown(failing)).toMatchInlineSnapshot(`
      "**fail: the candidate is worse than allowed on errors**<br>• errors: canary 12 % against stable 0 % (allowed ≤ 0.01): **worse than allowed**<br>• p99 latency: canary 2.49ms against stable 2.49ms (allowed ≤ 1.5× stable): fine, enough evidence<br>• predicted classes against stable: canary 0 % (allowed ≤ 0.05): fine, enough evidence

      Numbers (threshold judge):<br>• errorRate: candidate 12/100 requests, stable 0/900<br>• latencyP99: timed requests: candidate 100, stable 900<br>• disagreement (distribution): class distance 0.0067 − sampling noise 0.059; 100 vs 900 rows"
    `);
  });

  it('render one line for logs with the numbers that decided', () => {
    expect(verdictLine(failing)).toBe(
      'fail: errorRate 0.12 > 0.01 (candidate 12/100 requests, stable 0/900)',
    );
  });

  it('mark metrics that could not be judged yet, rather than passing them', () => {
    const early = judgeThresholds({
      stable: windowOf({ requests: 400 }),
      candidate: windowOf({ requests: 30 }),
      limits: { errorRate: { max: 0.01 }, latencyP99: { max: '10ms' }, disagreement: { max: 0.05 } },
      context: { elapsedMs: 60_000, durationMs: 300_000, minRequests: 100, candidateWeight: 10 },
    });
    const markdown = verdictMarkdown(early);
    expect(markdown).toContain(
      '• errors: canary 0 % against stable 0 % (allowed ≤ 0.01): no problem seen, not enough evidence yet',
    );
    expect(markdown).not.toContain('fine, enough evidence');
  });

  it('count errors in requests, canary against stable, for the sequential judge', () => {
    const clean = judgeSequential(
      {
        stable: windowOf({ requests: 751, errors: 0, latencyMs: 2, classes: { 0: 250, 1: 250, 2: 251 } }),
        candidate: windowOf({ requests: 751, errors: 0, latencyMs: 2, classes: { 0: 250, 1: 250, 2: 251 } }),
        limits: {
          errorRate: { max: 0.05 },
          latencyP99: { max: '250ms', maxMs: 250 },
          disagreement: { max: 0.1 },
        },
        context: { elapsedMs: 20_000, durationMs: 20_000, minRequests: 50, candidateWeight: 50 },
      },
      { alpha: 0.01, minEffect: 1 },
    );
    const markdown = verdictMarkdown(clean);
    expect(markdown).toContain('**pass: the candidate does as well as stable, with enough evidence**');
    expect(markdown).toContain('• errors: 0 in 751 canary requests against 0 in 751 stable');
  });

  it('print the reason once: not again when the metrics already carry it', () => {
    const markdown = verdictMarkdown(failing);
    expect(markdown.split('12/100 requests').length - 1).toBe(1);
  });
});

describe('intervals in reports', () => {
  it('show a metric’s confidence interval, with ∞ for an open end', () => {
    const markdown = verdictMarkdown({
      outcome: 'fail',
      judge: 'sequential',
      reason: 'errorRate: candidate 6/41 errors vs stable 3/369',
      metrics: [
        {
          name: 'errorRate',
          unit: 'fraction',
          stable: 0.0081,
          candidate: 0.146,
          limit: '≤ 1× stable',
          passed: false,
          interval: { of: 'ratio', lower: 2.345, upper: Number.POSITIVE_INFINITY },
        },
      ],
    });
    expect(markdown).toContain('**fail: the candidate is worse than allowed on errors**');
    expect(markdown).toContain(
      '• errors: canary 14.6 % against stable 0.81 % (allowed ≤ 1× stable): **worse than allowed**',
    );
    expect(markdown).toContain('• errorRate: no counts; ratio 2.3–∞');
  });
});
