/**
 * Finding (and, on first need, installing) a Prometheus server binary, for the tests of the
 * monitor's Prometheus counter source. Production points the worker at its own Prometheus
 * (`MODELSHIP_PROMETHEUS_URL`); nothing here runs there.
 *
 * Order: `$PROMETHEUS_BIN`, `prometheus` on `PATH`, then `.tools/prometheus/`, filled from
 * Debian's `prometheus` package (a static Go binary) by `worker/debian-tool.ts`.
 */
import { ensureDebianTool, type FoundTool } from './debian-tool.ts';

const PROMETHEUS = {
  package: 'prometheus',
  command: 'prometheus',
  pathInPackage: 'usr/bin/prometheus',
  overrideVariable: 'PROMETHEUS_BIN',
} as const;

/** Returns a Prometheus binary, downloading Debian's package into `.tools/prometheus` if needed. */
export function ensurePrometheus(env: NodeJS.ProcessEnv = process.env): FoundTool {
  return ensureDebianTool(PROMETHEUS, env);
}
