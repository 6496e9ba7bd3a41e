/**
 * The plain monitoring defaults the workflow sandbox uses are what the schema makes of a spec
 * without `spec.monitoring`: the two cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import { defaultMonitoring } from '../../specs/monitoring-defaults.ts';
import { MonitoringSchema, type MonitoringSpec } from '../../specs/monitoring-schema.ts';

describe('monitoring defaults', () => {
  it('equal the schema parse of an empty block, interval in milliseconds included', () => {
    const plain: MonitoringSpec = defaultMonitoring();
    expect(plain).toEqual(MonitoringSchema.parse({}));
    expect(plain.intervalMs).toBe(5 * 60_000);
  });

  it('are a fresh object each time, so a caller changing one changes no other', () => {
    const first = defaultMonitoring();
    first.checks.dataQuality.maxViolationRate = 0.5;
    expect(defaultMonitoring().checks.dataQuality.maxViolationRate).toBe(0.01);
  });
});
