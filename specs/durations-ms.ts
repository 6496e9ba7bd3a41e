/**
 * Every duration of a parsed spec in milliseconds, beside the text the author wrote. The schema
 * adds the `...Ms` fields when it parses; this normaliser gives the same fields to a spec parsed
 * before they existed (a DeployModel started by an older CLI carries such a spec in its history
 * input), so a workflow reads numbers only and never parses text. Pure and deterministic: a
 * workflow calls it at start, also when replaying.
 */
import { parseDuration } from './duration.ts';
import type { ModelDeployment, Step, ValidationSpec } from './schema.ts';

function stepWithMs(step: Step): Step {
  switch (step.type) {
    case 'shadow':
    case 'pause':
      return { ...step, durationMs: parseDuration(step.duration) };
    case 'analysis':
      return {
        ...step,
        durationMs: parseDuration(step.duration),
        intervalMs: parseDuration(step.interval),
      };
    case 'approval':
      return { ...step, timeoutMs: parseDuration(step.timeout) };
    case 'setWeight':
      return step;
  }
}

function latencyWithMs<T extends { max: string }>(limit: T | undefined): { maxMs: number } | undefined {
  return limit ? { ...limit, maxMs: parseDuration(limit.max) } : undefined;
}

function metricsWithMs(metrics: ValidationSpec['metrics']): ValidationSpec['metrics'] {
  const { latencyP50, latencyP99, ...rest } = metrics;
  const p50 = latencyP50 && { ...latencyP50, ...latencyWithMs(latencyP50) };
  const p99 = latencyP99 && { ...latencyP99, ...latencyWithMs(latencyP99) };
  return { ...rest, ...(p50 ? { latencyP50: p50 } : {}), ...(p99 ? { latencyP99: p99 } : {}) };
}

/**
 * The spec with every `...Ms` field (re)computed from its duration text: `durationMs`,
 * `intervalMs`, `timeoutMs` on steps, `postPromotionWindowMs`, `maxMs` on latency limits,
 * `monitoring.intervalMs`, `promotion.minSoakMs`, `validation.importance.budgetMs`.
 * A spec that already has them comes back with equal values.
 */
export function normaliseDurations(spec: ModelDeployment): ModelDeployment {
  const { rollout, analysis, validation, monitoring, promotion } = spec.spec;
  const { max, ...latencyP99 } = analysis.latencyP99;
  return {
    ...spec,
    spec: {
      ...spec.spec,
      validation: {
        ...validation,
        metrics: metricsWithMs(validation.metrics),
        ...(validation.importance
          ? {
              importance: { ...validation.importance, budgetMs: parseDuration(validation.importance.budget) },
            }
          : {}),
      },
      rollout: {
        ...rollout,
        steps: rollout.steps.map(stepWithMs),
        postPromotionWindowMs: parseDuration(rollout.postPromotionWindow),
      },
      analysis: {
        ...analysis,
        latencyP99: { ...latencyP99, ...(max === undefined ? {} : { max, maxMs: parseDuration(max) }) },
      },
      // Absent in specs of runs started before spec.monitoring existed: the workflow applies its defaults.
      ...(monitoring
        ? { monitoring: { ...monitoring, intervalMs: parseDuration(monitoring.interval) } }
        : {}),
      ...(promotion ? { promotion: { ...promotion, minSoakMs: parseDuration(promotion.minSoak) } } : {}),
    },
  };
}
