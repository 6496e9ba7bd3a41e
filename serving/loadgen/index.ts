/**
 * The load generator's public API: `runLoad` and the types around it. `modelship load`, the
 * serving benchmark, the demo and the rollout tests import from here.
 */
export { formatProgress, formatSummary } from './format.ts';
export { LatencyHistogram } from './histogram.ts';
export { HoldoutError } from './payload.ts';
export {
  type LoadHooks,
  type LoadMode,
  type LoadOptions,
  type LoadSummary,
  LoadTargetError,
  runLoad,
} from './run.ts';
export type { LatencySummary, ProgressSnapshot, VersionSummary } from './stats.ts';
export { TransportKind } from './transport.ts';
