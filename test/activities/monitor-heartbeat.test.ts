/**
 * A watch whose interval is longer than the workflow's heartbeat timeout (20 s) must keep
 * heartbeating while it waits for its next read, or the server would take a healthy watch for
 * a dead worker and start it again. Runs the real activity in Temporal's mock activity
 * environment; the counters come from a stub source (the data plane is not what is tested here).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createMonitorActivities } from '../../activities/monitor.ts';
import type { VersionCounters } from '../../analysis/window.ts';
import type { AdminClient } from '../../serving/admin-client.ts';
import { parseSpec } from '../../specs/parse.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

const idle: VersionCounters = {
  requests: 0,
  errors: {},
  latency: { buckets: [], sum: 0, count: 0 },
  predictions: {},
  shadow: { compared: 0, agreed: 0, dropped: 0, errors: 0 },
};

describe('watchCandidate', () => {
  it('heartbeats while it waits for a read further away than the heartbeat period', async () => {
    const parsed = parseSpec(exampleSpecYaml({ name: 'iris', dataset: 'iris', version: 'v2' }));
    if (!parsed.ok) throw new Error('the example spec does not parse');
    let reads = 0;
    const { watchCandidate } = createMonitorActivities({
      admin: {} as AdminClient,
      counters: () => ({
        name: 'stub counters',
        read: async () => {
          reads += 1;
          return { stable: idle, candidate: idle };
        },
      }),
    });
    const env = new MockActivityEnvironment();
    const beats: { reads: number; readsSoFar: number }[] = [];
    env.on('heartbeat', (details: { reads: number }) =>
      beats.push({ reads: details.reads, readsSoFar: reads }),
    );
    const result: Awaited<ReturnType<typeof watchCandidate>> = await env.run(watchCandidate, {
      deployment: {
        model: 'iris',
        environment: 'staging',
        commit: 'c'.repeat(40),
        specPath: 'specs/iris.yaml',
        repository: '/nowhere',
      },
      stable: 'stable',
      candidate: 'candidate',
      mode: 'analysis' as const,
      durationMs: 5_600,
      intervalMs: 5_600,
      analysis: parsed.spec.spec.analysis,
      candidateWeight: 10,
    });
    // One read for the baseline, one at the end; between them the wait heartbeated.
    expect(result.reads).toBe(1);
    expect(beats.filter((beat) => beat.readsSoFar === 1 && beat.reads === 0).length).toBeGreaterThanOrEqual(
      1,
    );
    expect(result.verdict.outcome).toBe('inconclusive');
  }, 20_000);
});
