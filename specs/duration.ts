/**
 * Human durations as specs write them: `250ms`, `30s`, `5m`, `2h`, `1d`, and `500us` for latency
 * budgets below a millisecond. One number, one unit: compound forms like `1h30m` are rejected
 * because they are rare in rollout specs and ambiguous to skim.
 */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)$/;

const UNIT_MS = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration string in the spec's grammar, e.g. `30s`. */
type DurationString = string;

/** Milliseconds for a duration string; throws on text outside the grammar. */
export function parseDuration(text: DurationString): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match)
    throw new Error(`invalid duration "${text}": expected a number and a unit (us, ms, s, m, h, d)`);
  const [, amount, unit] = match;
  return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

/** A short human rendering of milliseconds, for reports: `1.2ms`, `850us`, `3m`. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}us`;
  if (ms < 1000) return `${Number(ms.toFixed(ms < 10 ? 2 : 1))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))}m`;
  return `${Number((ms / 3_600_000).toFixed(1))}h`;
}
