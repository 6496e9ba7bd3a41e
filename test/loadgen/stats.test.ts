import { describe, expect, it } from 'vitest';
import { formatProgress, formatSummary } from '../../serving/loadgen/format.ts';
import { predictionOf } from '../../serving/loadgen/prediction.ts';
import type { LoadSummary } from '../../serving/loadgen/run.ts';
import { LoadStats, NO_VERSION, type Outcome } from '../../serving/loadgen/stats.ts';

const outcome = (overrides: Partial<Outcome>): Outcome => ({
  latencyNs: 1_000_000,
  status: 200,
  version: 'v1',
  prediction: 0,
  label: 0,
  ...overrides,
});

describe('LoadStats', () => {
  it('counts errors by HTTP status and transport failure, apart from successes', () => {
    const stats = new LoadStats();
    for (let i = 0; i < 7; i += 1) stats.record(outcome({}));
    stats.record(outcome({ status: 503 }));
    stats.record(outcome({ status: 503 }));
    stats.record(outcome({ status: 400 }));
    stats.record(outcome({ status: 'timeout', version: undefined, prediction: undefined }));
    stats.record(outcome({ status: 'connection', version: undefined, prediction: undefined }));
    const summary = stats.summary();
    expect(summary).toMatchObject({ requests: 12, ok: 7, errors: 5 });
    expect(summary.errorsByStatus).toEqual({ '400': 1, '503': 2, connection: 1, timeout: 1 });
    // Transport failures carry no version: they are not in anyone's share.
    expect(summary.versions.v1?.requests).toBe(10);
    expect(summary.versions.v1?.errors).toBe(3);
  });

  it('shares and accuracy per version from the answers that named a version', () => {
    const stats = new LoadStats();
    for (let i = 0; i < 90; i += 1)
      stats.record(outcome({ version: 'v1', prediction: i % 10 === 0 ? 1 : 0 }));
    for (let i = 0; i < 10; i += 1)
      stats.record(outcome({ version: 'v2', prediction: 0, latencyNs: 5_000_000 }));
    stats.record(outcome({ version: 'v2', status: 500, prediction: undefined }));
    const { versions } = stats.summary();
    expect(versions.v1).toMatchObject({ requests: 90, scored: 90, correct: 81, accuracy: 0.9 });
    expect(versions.v1?.share).toBeCloseTo(90 / 101, 12);
    expect(versions.v2).toMatchObject({ requests: 11, errors: 1, scored: 10, correct: 10, accuracy: 1 });
    expect(versions.v2?.latencyMs.p50).toBeCloseTo(5, 1);
  });

  it('counts answers without a version header under (none), and unscored answers as such', () => {
    const stats = new LoadStats();
    stats.record(outcome({ version: undefined, prediction: undefined }));
    expect(stats.summary().versions[NO_VERSION]).toMatchObject({ requests: 1, scored: 0, accuracy: null });
  });

  it('reports progress over the interval since the last snapshot, totals since the start', () => {
    const stats = new LoadStats();
    for (let i = 0; i < 10; i += 1) stats.record(outcome({ version: 'v1', latencyNs: 1e6 }));
    const first = stats.progress(1);
    expect(first).toMatchObject({ requests: 10, errors: 0, intervalShares: { v1: 1 } });
    for (let i = 0; i < 10; i += 1) stats.record(outcome({ version: 'v2', latencyNs: 9e6 }));
    const second = stats.progress(2);
    expect(second.requests).toBe(20);
    expect(second.intervalShares).toEqual({ v2: 1 });
    expect(second.intervalLatencyMs.p50).toBeCloseTo(9, 1);
    // An interval in which nothing finished shows the whole run rather than zeros.
    expect(stats.progress(3).intervalShares).toEqual({ v1: 0.5, v2: 0.5 });
  });
});

describe('predictionOf', () => {
  const body = (value: unknown) => Buffer.from(JSON.stringify(value));
  it('reads the first value of the named output, numbers or INT64 strings, flat or nested', () => {
    expect(predictionOf(body({ outputs: [{ name: 'p' }, { name: 'label', data: [2] }] }), 'label')).toBe(2);
    expect(predictionOf(body({ outputs: [{ name: 'label', data: ['1'] }] }), 'label')).toBe(1);
    expect(predictionOf(body({ outputs: [{ name: 'label', data: [[0]] }] }), 'label')).toBe(0);
  });
  it('is undefined for anything else', () => {
    expect(predictionOf(Buffer.from('not json'), 'label')).toBeUndefined();
    expect(predictionOf(body({ outputs: [{ name: 'other', data: [1] }] }), 'label')).toBeUndefined();
    expect(predictionOf(body({ outputs: [{ name: 'label', data: [0.5] }] }), 'label')).toBeUndefined();
    expect(predictionOf(body({}), 'label')).toBeUndefined();
  });
});

describe('text output', () => {
  it('renders the progress line', () => {
    expect(
      formatProgress({
        elapsedS: 12.34,
        requests: 4102,
        errors: 0,
        intervalLatencyMs: { p50: 0.213, p99: 0.9 },
        intervalShares: { v1: 0.901, v2: 0.099 },
      }),
    ).toBe('load: 12.3s  4,102 req  0 err  p50 0.21ms p99 0.9ms  v1 90.1% v2 9.9%');
  });

  it('renders a summary that warns when the achieved rate falls short of the offered one', () => {
    const stats = new LoadStats();
    stats.record(outcome({}));
    stats.record(outcome({ status: 503 }));
    const summary: LoadSummary = {
      url: 'http://127.0.0.1:1',
      model: 'iris',
      transport: 'http',
      mode: 'rate',
      concurrency: null,
      offeredRate: 200,
      sendRate: 199.5,
      lateSends: 3,
      maxLagMs: 12.5,
      achievedRate: 150,
      sent: 2,
      durationS: 10,
      startedAt: '2026-01-01T00:00:00.000Z',
      stoppedBy: 'duration',
      firstError: 'HTTP 503: {"error":"stub says 503"}',
      ...stats.summary(),
    };
    const text = formatSummary(summary);
    expect(text).toContain('rate 200/s (open loop), 10.0s, stopped by duration');
    expect(text).toContain('2 sent, 2 answered, 1 ok, 1 errors (503 ×1)');
    expect(text).toContain('offered 200.0/s, sent 199.5/s, achieved 150.0/s, 3 late sends (max lag 12.50ms)');
    expect(text).toContain('WARNING: 25% below the offered rate');
    expect(text).toMatch(/v1\s+100\.0%\s+2\s+1\s+1\.000 of 1/);
    expect(text).toContain('first error: HTTP 503');
  });
});
