/**
 * `estimateAnalysisSteps`: before a rollout moves any traffic, how long each analysis step needs
 * to reach a verdict, from the traffic stable serves now (its counters on the data plane) or,
 * when the data plane has not seen enough of it yet, the spec's `analysis.expectedTraffic`.
 * The figures come from `analysis/step-estimate.ts`, which asks the judge itself.
 */
import { ESTIMATE_HORIZON_MS, estimateStep } from '../analysis/step-estimate.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import type { MetricsSnapshot } from '../serving/api-types.ts';
import type { AnalysisSpec, Step } from '../specs/schema.ts';

/** Counters younger than this say too little about the traffic to size steps by. */
const MIN_OBSERVED_SECONDS = 30;

interface EstimateAnalysisInput {
  deployment: DeploymentRef;
  stable: string;
  steps: Step[];
  analysis: AnalysisSpec;
}

interface TrafficUsed {
  requestsPerSecond: number;
  errorRate: number;
  /** `data plane`: stable's counters; `spec`: analysis.expectedTraffic; `none`: neither. */
  source: 'data plane' | 'spec' | 'none';
  /** Seconds of stable traffic the rate is measured over (data plane only). */
  observedSeconds?: number;
}

interface AnalysisStepEstimate {
  /** Index of the analysis step in the spec's steps. */
  stepIndex: number;
  candidateWeight: number;
  durationMs: number;
  /** Time a candidate as good as stable needs to pass; null when beyond a week or unknown. */
  passMs: number | null;
  /** Time to fail a candidate with `failEffect` × stable's error rate; null when beyond a week or unknown. */
  failMs: number | null;
  failEffect: number;
  /** The step is long enough for a healthy candidate to pass (false: expect inconclusive). */
  fits: boolean;
}

export interface AnalysisEstimate {
  traffic: TrafficUsed;
  steps: AnalysisStepEstimate[];
}

export function createEstimateActivities(deps: {
  /** The environment's data-plane metrics: one admin API, or the sum over its replicas. */
  metrics: (environment: string) => Promise<MetricsSnapshot>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  return {
    async estimateAnalysisSteps(input: EstimateAnalysisInput): Promise<AnalysisEstimate> {
      const snapshot = await deps.metrics(input.deployment.environment);
      const stable = snapshot.models[input.deployment.model]?.[input.stable];
      const traffic = trafficUsed(stable, input.analysis, now());
      return { traffic, steps: estimateSteps(input.steps, input.analysis, traffic) };
    },
  };
}

/** Stable's measured traffic when there is enough of it, else what the spec expects. */
export function trafficUsed(
  stable: { countingSince: string; requests: number; errors: Record<string, number> } | undefined,
  analysis: AnalysisSpec,
  nowMs: number,
): TrafficUsed {
  if (stable) {
    const observedSeconds = (nowMs - Date.parse(stable.countingSince)) / 1000;
    if (observedSeconds >= MIN_OBSERVED_SECONDS && stable.requests > 0) {
      const errors = Object.values(stable.errors).reduce((sum, count) => sum + count, 0);
      return {
        requestsPerSecond: stable.requests / observedSeconds,
        errorRate: errors / stable.requests,
        source: 'data plane',
        observedSeconds: Math.round(observedSeconds),
      };
    }
  }
  const expected = analysis.expectedTraffic;
  if (expected) return { ...expected, source: 'spec' };
  return { requestsPerSecond: 0, errorRate: 0, source: 'none' };
}

/** One estimate per analysis step, at the weight the candidate has when the step runs. */
export function estimateSteps(
  steps: Step[],
  analysis: AnalysisSpec,
  traffic: TrafficUsed,
): AnalysisStepEstimate[] {
  const estimates: AnalysisStepEstimate[] = [];
  let weight = 0;
  for (const [stepIndex, step] of steps.entries()) {
    if (step.type === 'setWeight') weight = step.weight;
    if (step.type !== 'analysis') continue;
    const { durationMs } = step;
    const estimate = estimateStep({ traffic, candidateWeight: weight, analysis });
    const known = (ms: number) => (Number.isFinite(ms) && ms <= ESTIMATE_HORIZON_MS ? Math.round(ms) : null);
    estimates.push({
      stepIndex,
      candidateWeight: weight,
      durationMs,
      passMs: known(estimate.passMs),
      failMs: known(estimate.failMs),
      failEffect: estimate.failEffect,
      fits: estimate.passMs <= durationMs,
    });
  }
  return estimates;
}
