/**
 * Traffic for the judges' tests, counted by the data plane's own `VersionMetrics`, so that the
 * snapshots have the real bucket layout and shape the monitor will read.
 */
import { type VersionWindow, versionWindow } from '../../analysis/window.ts';
import type { VersionMetricsSnapshot } from '../../serving/api-types.ts';
import { VersionMetrics } from '../../serving/metrics.ts';

export interface Traffic {
  /** Routed requests that reached the model, errors included. */
  requests: number;
  /** Errors among them, of kind `inference` unless `errorKind` says otherwise. */
  errors?: number;
  errorKind?: 'inference' | 'non_finite';
  /** Latency of every timed request in ms; a function of the request's index for mixes. */
  latencyMs?: number | ((index: number) => number);
  /** Predicted class → rows. */
  classes?: Record<string, number>;
  shadow?: { compared: number; agreed: number; dropped?: number; errors?: number };
}

/** Adds traffic to a version's counters (they stay cumulative, as on the data plane). */
export function serve(metrics: VersionMetrics, traffic: Traffic): VersionMetrics {
  const errors = traffic.errors ?? 0;
  metrics.requests += traffic.requests;
  const kind = traffic.errorKind ?? 'inference';
  if (kind === 'non_finite') metrics.nonFinite += errors;
  else metrics.inferenceErrors += errors;
  const latency = traffic.latencyMs ?? 2;
  for (let i = 0; i < traffic.requests; i += 1) {
    metrics.observeLatency((typeof latency === 'number' ? latency : latency(i)) / 1000);
  }
  for (const [label, rows] of Object.entries(traffic.classes ?? {})) {
    metrics.countPredictions(Array.from({ length: rows }, () => Number(label)));
  }
  metrics.shadowCompared += traffic.shadow?.compared ?? 0;
  metrics.shadowAgreed += traffic.shadow?.agreed ?? 0;
  metrics.shadowDropped += traffic.shadow?.dropped ?? 0;
  metrics.shadowErrors += traffic.shadow?.errors ?? 0;
  return metrics;
}

/** A snapshot of a fresh version after `traffic`. */
export function snapshotOf(traffic: Traffic): VersionMetricsSnapshot {
  return serve(new VersionMetrics('iris', 'v'), traffic).snapshot();
}

/** The window of a version that served `traffic` since the step started. */
export function windowOf(traffic: Traffic): VersionWindow {
  return versionWindow(undefined, snapshotOf(traffic));
}
