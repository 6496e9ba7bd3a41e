/**
 * The worker's `/metrics`: the monitors' findings and actions this worker recorded, as Prometheus
 * counters with label values escaped, beside the liveness endpoint.
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHealthServer } from '../../worker/health-server.ts';
import { MonitorMetrics } from '../../worker/monitor-metrics.ts';

const deployment = { model: 'iris', environment: 'production' };

describe('monitor metrics on the worker', () => {
  it('counts findings by check and feature, actions by kind and outcome, and nothing else', () => {
    const metrics = new MonitorMetrics();
    const finding = { version: 'v1', check: 'input-drift', feature: 'petal_length' };
    metrics.observe({ deployment, decision: 'monitor.finding', details: finding });
    metrics.observe({ deployment, decision: 'monitor.finding', details: finding });
    metrics.observe({ deployment, decision: 'monitor.action', details: { kind: 'alert', outcome: 'sent' } });
    metrics.observe({ deployment, decision: 'deployment.promoted', details: { version: 'v1' } });
    const text = metrics.render();
    expect(text).toContain(
      'modelship_monitor_findings_total{model="iris",environment="production",version="v1",check="input-drift",feature="petal_length"} 2',
    );
    expect(text).toContain(
      'modelship_monitor_actions_total{model="iris",environment="production",kind="alert",outcome="sent"} 1',
    );
    expect(text.match(/^modelship_/gm)).toHaveLength(2);
  });

  it('escapes label values a hostile feature name could break the exposition with', () => {
    const metrics = new MonitorMetrics();
    metrics.observe({
      deployment,
      decision: 'monitor.finding',
      details: { version: 'v1', check: 'input-drift', feature: 'a"b\\c\nd' },
    });
    expect(metrics.render()).toContain('feature="a\\"b\\\\c\\nd"} 1');
    expect(
      metrics
        .render()
        .split('\n')
        .filter((line) => line.startsWith('modelship_')),
    ).toHaveLength(1);
  });

  it('serves them on GET /metrics beside /healthz', async () => {
    const metrics = new MonitorMetrics();
    metrics.observe({
      deployment,
      decision: 'monitor.finding',
      details: { version: 'v1', check: 'data-quality' },
    });
    const worker = {
      getStatus: () =>
        ({
          runState: 'RUNNING',
          workflowPollerState: 'POLLING',
          activityPollerState: 'POLLING',
          numInFlightActivities: 0,
        }) as never,
    };
    const server = await startHealthServer(worker, 0, '127.0.0.1', metrics);
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const response = await fetch(`${base}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('check="data-quality",feature=""} 1');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      server.close();
    }
  });
});
