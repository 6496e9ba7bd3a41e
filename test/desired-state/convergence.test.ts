/**
 * The convergence verdict, case by case: every row of the decision table in
 * `desired-state/convergence.ts`, liveness at its boundary, and the messages a paused rollout shows.
 */
import { describe, expect, it } from 'vitest';
import { type ConvergenceInput, convergence } from '../../desired-state/convergence.ts';
import type { ReplicaReport } from '../../desired-state/types.ts';

const NOW = '2026-12-05T04:00:00.000Z';
const LIVE_MS = 15_000;

/** A report `ageMs` old at NOW. */
function report(replica: string, fields: Partial<ReplicaReport> & { ageMs?: number } = {}): ReplicaReport {
  const { ageMs = 1_000, ...rest } = fields;
  return {
    environment: 'production',
    replica,
    generation: 7,
    serving: 7,
    status: 'converged',
    message: null,
    url: null,
    startedAt: '2026-12-05T03:00:00.000Z',
    reportedAt: new Date(new Date(NOW).getTime() - ageMs).toISOString(),
    ...rest,
  };
}

function judge(reports: ReplicaReport[], extra: Partial<ConvergenceInput> = {}) {
  return convergence({
    desired: { environment: 'production', generation: 7 },
    reports,
    now: NOW,
    liveWithinMs: LIVE_MS,
    ...extra,
  });
}

const names = (list: Array<{ replica: string }>) => list.map((entry) => entry.replica);

describe('convergence', () => {
  it('is done when every live replica serves the generation', () => {
    const verdict = judge([report('serve-b'), report('serve-a')]);
    expect(verdict).toMatchObject({ state: 'done', target: 7, lagging: [], failed: [], stale: [] });
    expect(names(verdict.converged)).toEqual(['serve-a', 'serve-b']);
    expect(verdict.message).toBe(
      'all 2 live replicas of environment "production" serve generation 7 or later: serve-a, serve-b',
    );
  });

  it('waits for a lagging replica, naming it with the generation it serves and what it is doing', () => {
    const verdict = judge([
      report('serve-a'),
      report('serve-b', { status: 'converging', generation: 7, serving: 6, message: 'pulling sha256:ab12' }),
      report('serve-c', { generation: 6, serving: 6 }),
    ]);
    expect(verdict.state).toBe('waiting');
    expect(names(verdict.lagging)).toEqual(['serve-b', 'serve-c']);
    expect(verdict.message).toBe(
      'waiting for 2 of 3 live replicas of environment "production" to serve generation 7: ' +
        'serve-b serves generation 6, converging to generation 7 (pulling sha256:ab12); ' +
        'serve-c serves generation 6, has not read generation 7 yet',
    );
  });

  it('fails when a live replica failed to apply the generation, quoting its message', () => {
    const verdict = judge([
      report('serve-a'),
      report('serve-b', {
        status: 'failed',
        generation: 7,
        serving: 6,
        message: 'bundle sha256:ab12 not found (404)',
      }),
      report('serve-c', { status: 'converging', generation: 7, serving: 6 }),
    ]);
    expect(verdict.state).toBe('failed');
    expect(names(verdict.failed)).toEqual(['serve-b']);
    expect(names(verdict.lagging)).toEqual(['serve-c']);
    expect(verdict.message).toBe(
      '1 of 3 live replicas of environment "production" failed to apply generation 7: ' +
        'serve-b (still serving 6): bundle sha256:ab12 not found (404); ' +
        'waiting for 1 of 3 live replicas of environment "production" to serve generation 7: ' +
        'serve-c serves generation 6, converging to generation 7',
    );
  });

  it('a failure on an older generation is lagging, not failed: the replica has not tried this one', () => {
    const verdict = judge([
      report('serve-a', { status: 'failed', generation: 6, serving: 5, message: 'disk full' }),
    ]);
    expect(verdict.state).toBe('waiting');
    expect(verdict.lagging[0]?.why).toBe(
      'serves generation 5, has not read generation 7 yet, failed on generation 6 (disk full)',
    );
  });

  it('a replica serving the target counts as converged even while a newer generation failed on it', () => {
    const verdict = judge(
      [report('serve-a', { status: 'failed', generation: 8, serving: 7, message: 'x' })],
      {
        desired: { environment: 'production', generation: 8 },
        target: 7,
      },
    );
    expect(verdict.state).toBe('done');
  });

  it('does not count replicas whose last report is older than liveWithinMs, and names them apart', () => {
    const verdict = judge([
      report('serve-a'),
      report('serve-old', { generation: 3, serving: 3, ageMs: LIVE_MS + 1 }),
    ]);
    expect(verdict.state).toBe('done');
    expect(names(verdict.stale)).toEqual(['serve-old']);
    expect(verdict.message).toBe(
      'all 1 live replicas of environment "production" serve generation 7 or later: serve-a; ' +
        'not live (no report in 15 s), not counted: serve-old (last report 15 s ago, serving 3)',
    );
    // Exactly liveWithinMs old is still live.
    expect(judge([report('serve-a', { generation: 3, serving: 3, ageMs: LIVE_MS })]).state).toBe('waiting');
  });

  it('waits with a clear message when no replica is live at all', () => {
    const none = judge([]);
    expect(none).toMatchObject({ state: 'waiting', converged: [], lagging: [], failed: [], stale: [] });
    expect(none.message).toBe(
      'no live replica of environment "production": none has reported in the last 15 s, so generation 7 cannot be confirmed',
    );
    const onlyStale = judge([report('serve-a', { ageMs: 60_000 })]);
    expect(onlyStale.state).toBe('waiting');
    expect(onlyStale.message).toMatch(
      /^no live replica .*; not live .*serve-a \(last report 60 s ago, serving 7\)$/,
    );
  });

  it('a replica ahead of the target converged, up to the newest generation the record reached', () => {
    const ahead = judge([report('serve-a', { generation: 9, serving: 9 })], {
      desired: { environment: 'production', generation: 9 },
      target: 7,
    });
    expect(ahead.state).toBe('done');
    // Generation 12 never existed in a record at 9: the replica follows another record.
    const foreign = judge([report('serve-a', { generation: 12, serving: 12 })], {
      desired: { environment: 'production', generation: 9 },
      target: 7,
    });
    expect(foreign.state).toBe('waiting');
    expect(foreign.lagging[0]?.why).toBe(
      'serves generation 12, which this record never reached (newest 9): it follows another store, or the record was reset',
    );
  });

  it('a report from the future (another clock) is live, aged 0', () => {
    const verdict = judge([report('serve-a', { ageMs: -5_000 })]);
    expect(verdict.state).toBe('done');
    expect(verdict.converged[0]?.ageMs).toBe(0);
  });

  it('refuses a clock that is not a time rather than treating every report as live', () => {
    expect(() => judge([report('serve-a')], { now: 'yesterday' })).toThrow(/now is not a time/);
  });

  it('generation 0 (nothing desired yet) is done once live replicas serve 0', () => {
    const verdict = judge([report('serve-a', { generation: 0, serving: 0 })], {
      desired: { environment: 'production', generation: 0 },
    });
    expect(verdict.state).toBe('done');
  });
});
