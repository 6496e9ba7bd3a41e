/**
 * The defaults of `spec.monitoring` as plain values. The schema (`monitoring-schema.ts`) applies
 * them when it parses a spec; `MonitorModel`'s start uses `defaultMonitoring()` for runs whose spec
 * predates the block. Kept apart from the schema so that the workflow sandbox, which needs only
 * these values, does not load zod into every workflow context (`test/architecture/layers.test.ts`).
 */
import { parseDuration } from './duration.ts';

export const MONITORING_DEFAULTS: Readonly<{
  enabled: boolean;
  interval: string;
  alpha: number;
  minRows: number;
  maxViolationRate: number;
  rollback: boolean;
}> = {
  enabled: true,
  interval: '5m',
  alpha: 0.01,
  minRows: 100,
  maxViolationRate: 0.01,
  rollback: false,
};

/**
 * `spec.monitoring` as parsed from a spec without the block: every default applied. Its callers
 * take it as a `MonitoringSpec` (the type checker holds the shape; `test/specs/monitoring-defaults.test.ts`
 * that it equals what the schema makes of an empty block). No type import here: the schema
 * imports this module, and Biome counts type imports in cycles.
 */
export function defaultMonitoring() {
  const { enabled, interval, alpha, minRows, maxViolationRate, rollback } = MONITORING_DEFAULTS;
  return {
    enabled,
    interval,
    alpha,
    minRows,
    checks: {
      inputDrift: true,
      predictionDrift: true,
      dataQuality: { maxViolationRate },
      performance: {},
    },
    actions: { rollback },
    intervalMs: parseDuration(interval),
  };
}
