/**
 * The contract between a rollout step that watches live traffic and whatever decides from it.
 *
 * A judge is a pure function of what the data plane counted: the monitor reads counters, builds
 * windows (`window.ts`) and asks the judge again at every read; the workflow acts on the verdict.
 * Two judges implement it, chosen by `spec.analysis.judge`: the sequential judge (the default,
 * `sequential-judge.ts`), whose error guarantee holds at every read, and the threshold judge
 * (`threshold-judge.ts`), which compares fixed limits. The sequential one is why the input carries
 * the traffic share and the previous verdict (with opaque state), and why a verdict may be `pass`
 * before the step's time is up.
 */
import type { AnalysisSpec } from '../specs/schema.ts';
import type { VersionWindow } from './window.ts';

/**
 * - `continue`: keep watching; nothing is decided yet.
 * - `pass`: every limit holds on enough traffic. A judge that can decide early may say so before
 *   the step's time is up; the threshold judge only passes at the end.
 * - `fail`: a limit is broken; roll back. Possible at any read.
 * - `inconclusive`: time is up and the evidence is too thin (too little traffic): neither a pass
 *   nor a fail. The rollout holds and extends the step, never passes by default.
 */
export type Outcome = 'pass' | 'fail' | 'continue' | 'inconclusive';

/** Metrics judges report on; a later judge may add its own names. */
export type MetricName = 'errorRate' | 'latencyP99' | 'disagreement' | 'agreement';

/** How a metric was judged, for one window. */
export interface MetricVerdict {
  name: MetricName;
  /** How the value was measured when there is a choice, e.g. `shadow` or `distribution`. */
  method?: string;
  /** Values are fractions (0.01 = 1 %) or milliseconds, as `unit` says. */
  unit: 'fraction' | 'ms';
  /** Stable's value in the same window; null when stable has no such value (or none applies). */
  stable: number | null;
  /** The candidate's value; null when it could not be measured yet. */
  candidate: number | null;
  /** The limit as the spec reads: `≤ 0.01`, `≤ 1.5× stable`, `≥ 0.98`, joined by `, ` when several. */
  limit: string;
  /**
   * The effective bound the candidate was held to in this window (relative limits resolved
   * against stable), with its direction; absent when the metric was not judged.
   */
  bound?: { kind: 'max' | 'min'; value: number };
  /** null: not judged in this window (too little data on either side); `reason` says why. */
  passed: boolean | null;
  /** The counts behind the value, for people: `12/100 requests`, `stable 0/900`. */
  evidence?: string;
  /** The same counts as numbers, for plain words: events (errors, slow requests) out of `total` `of`. */
  counts?: {
    of: string;
    candidate: { events: number; total: number };
    stable?: { events: number; total: number };
  };
  /** A confidence interval for `of` (e.g. the candidate/stable error-rate ratio), when the judge gives one. */
  interval?: { of: string; lower: number; upper: number };
}

/** A judge's answer for one window. Plain data: it goes into the audit log and the Web UI. */
export interface Verdict {
  outcome: Outcome;
  /** Which judge decided: `sequential` (the default) or `threshold`. */
  judge: string;
  metrics: MetricVerdict[];
  /** One sentence for people: which limit broke with which numbers, or why there is no verdict. */
  reason: string;
  /**
   * Whatever a stateful judge needs carried from one read to the next (e.g. an e-process); JSON
   * data only, handed back through `JudgeInput.previous`. The threshold judge keeps none.
   */
  state?: Readonly<Record<string, unknown>>;
}

/** The limits a judge enforces: the spec's `analysis` block without `minRequests` (in context). */
export type AnalysisLimits = Pick<AnalysisSpec, 'errorRate' | 'latencyP99' | 'disagreement'>;

/** Where in its step the judge is asked. */
export interface JudgeContext {
  /** Time since the step started watching (extensions included), milliseconds. */
  elapsedMs: number;
  /** How long the step watches in total (extensions included), milliseconds. */
  durationMs: number;
  /** Candidate requests needed before any limit is judged (`analysis.minRequests`). */
  minRequests: number;
  /** The candidate's share of live traffic in percent during the window (the canary weight). */
  candidateWeight: number;
}

/** Everything a judge decides from. Windows cover the step so far, not just the last read. */
export interface JudgeInput {
  stable: VersionWindow;
  candidate: VersionWindow;
  limits: AnalysisLimits;
  context: JudgeContext;
  /** The verdict of the previous read in the same step, if any. */
  previous?: Verdict;
}

/** Decides a step from live metrics. Pure: same input, same verdict. */
export interface Judge {
  readonly name: string;
  judge(input: JudgeInput): Verdict;
}

/** Whether the step's watching time is over. */
export function timeIsUp(context: JudgeContext): boolean {
  return context.elapsedMs >= context.durationMs;
}
