/**
 * A verdict as people see it: the table in the Web UI's current details, and the one line in
 * logs, the audit log and rollback reasons.
 */
import { describe, expect, it } from 'vitest';
import { verdictLine, verdictMarkdown } from '../../analysis/report.ts';
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
  it('render a short markdown table: metric, stable, candidate, limit, verdict', () => {
    expect(verdictMarkdown(failing)).toMatchInlineSnapshot(`
      "**fail** (threshold judge): errorRate 0.12 > 0.01 (candidate 12/100 requests, stable 0/900)

      | metric | stable | candidate | interval | limit | verdict |
      | --- | --- | --- | --- | --- | --- |
      | errorRate | 0 | 0.12 | — | ≤ 0.01 | **fail** |
      | latencyP99 | 2.49ms | 2.49ms | — | ≤ 1.5× stable | pass |
      | disagreement (distribution) | — | 0 | — | ≤ 0.05 | pass |"
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

    expect(verdictMarkdown(early).split('\n').slice(4)).toEqual([
      '| errorRate | 0 | 0 | — | ≤ 0.01 | not judged |',
      '| latencyP99 | 2.49ms | 2.49ms | — | ≤ 10ms | not judged |',
      '| disagreement | — | — | — | ≤ 0.05 | not judged |',
    ]);
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
    expect(markdown).toContain('| errorRate | 0.0081 | 0.146 | ratio 2.3–∞ | ≤ 1× stable | **fail** |');
  });
});
