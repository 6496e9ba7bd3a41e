/**
 * Has a generation of an environment's desired state landed on every live replica? A pure
 * decision over the replicas' reports, so the rollout's activity, a CLI and the tests all judge
 * the same way.
 *
 * A replica is live when its last report is at most `liveWithinMs` old (measured on the store's
 * clock: pass `ReplicaReports.readAt` as `now`). Only live replicas count: one that died stops
 * reporting, drops out, and converges from the durable record when it comes back, so it cannot
 * hold a rollout forever. Each live replica is, in this order:
 *
 * | its report                                            | counts as  |
 * | ----------------------------------------------------- | ---------- |
 * | serving > the record's newest generation              | lagging: it follows another record, or this one was reset |
 * | serving >= target                                     | converged  |
 * | failed, at generation >= target                       | failed     |
 * | anything else (converging, or not yet read target)    | lagging    |
 *
 * A replica ahead of the target counts as converged only up to the record's newest generation:
 * generations only grow and each is written from the one before, so serving a later one means
 * serving a state at least as new as the target (whether a later writer undid the step is the
 * writers' business: they use `expectedGeneration`). A generation the record never reached
 * cannot have come from it, so it proves nothing.
 *
 * The verdict: no live replica at all is `waiting` (nothing serves the environment, so nothing
 * can be confirmed); any failed replica makes it `failed`; any lagging one `waiting`; else `done`.
 */
import type { DesiredState, ReplicaReport } from './types.ts';

/** What {@link convergence} judges. */
export interface ConvergenceInput {
  /** The environment's newest state as read (its generation bounds what a report may claim). */
  desired: Pick<DesiredState, 'environment' | 'generation'>;
  /** The generation that must land; default `desired.generation`. */
  target?: number;
  reports: readonly ReplicaReport[];
  /** The store's clock at the read (`ReplicaReports.readAt`). */
  now: Date | string;
  /** A replica whose last report is older than this is not live. */
  liveWithinMs: number;
}

/** One replica's report, as the verdict sees it. */
export interface ReplicaStanding {
  replica: string;
  generation: number;
  serving: number;
  status: ReplicaReport['status'];
  message: string | null;
  url: string | null;
  reportedAt: string;
  /** How old the report was at `now`, in milliseconds (never negative). */
  ageMs: number;
}

/** A live replica that does not serve the target yet, and why in words. */
export interface LaggingReplica extends ReplicaStanding {
  why: string;
}

/** The verdict: every list is ordered by replica id; `message` says it all in one line. */
export interface Convergence {
  state: 'done' | 'waiting' | 'failed';
  environment: string;
  target: number;
  converged: ReplicaStanding[];
  lagging: LaggingReplica[];
  failed: ReplicaStanding[];
  /** Not live: no report within `liveWithinMs`. Never blocks the verdict. */
  stale: ReplicaStanding[];
  message: string;
}

/** Judges whether `target` has landed on every live replica; see the module comment. */
export function convergence(input: ConvergenceInput): Convergence {
  const environment = input.desired.environment;
  const target = input.target ?? input.desired.generation;
  const latest = Math.max(input.desired.generation, target);
  const now = new Date(input.now).getTime();
  // An invalid clock would make every age NaN, and NaN is never "too old": refuse it outright.
  if (Number.isNaN(now)) throw new TypeError(`convergence: now is not a time (${String(input.now)})`);
  const verdict: Convergence = {
    state: 'done',
    environment,
    target,
    converged: [],
    lagging: [],
    failed: [],
    stale: [],
    message: '',
  };
  const sorted = [...input.reports].sort((a, b) =>
    a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0,
  );
  for (const report of sorted) {
    const standing = standingOf(report, now);
    if (standing.ageMs > input.liveWithinMs) verdict.stale.push(standing);
    else if (standing.serving > latest) {
      verdict.lagging.push({
        ...standing,
        why: `serves generation ${standing.serving}, which this record never reached (newest ${latest}): it follows another store, or the record was reset`,
      });
    } else if (standing.serving >= target) verdict.converged.push(standing);
    else if (standing.status === 'failed' && standing.generation >= target) verdict.failed.push(standing);
    else verdict.lagging.push({ ...standing, why: lagReason(standing, target) });
  }
  const live = verdict.converged.length + verdict.lagging.length + verdict.failed.length;
  verdict.state = live === 0 || verdict.lagging.length > 0 ? 'waiting' : 'done';
  if (verdict.failed.length > 0) verdict.state = 'failed';
  verdict.message = describe(verdict, live, input.liveWithinMs);
  return verdict;
}

function standingOf(report: ReplicaReport, now: number): ReplicaStanding {
  return {
    replica: report.replica,
    generation: report.generation,
    serving: report.serving,
    status: report.status,
    message: report.message,
    url: report.url,
    reportedAt: report.reportedAt,
    ageMs: Math.max(0, now - new Date(report.reportedAt).getTime()),
  };
}

function lagReason(standing: ReplicaStanding, target: number): string {
  const serving = `serves generation ${standing.serving}`;
  if (standing.generation < target) {
    const failed = standing.status === 'failed' ? `, failed on generation ${standing.generation}` : '';
    return `${serving}, has not read generation ${target} yet${failed}${note(standing)}`;
  }
  return `${serving}, converging to generation ${standing.generation}${note(standing)}`;
}

const note = (standing: ReplicaStanding): string => (standing.message ? ` (${standing.message})` : '');

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

function describe(verdict: Convergence, live: number, liveWithinMs: number): string {
  const where = `of environment "${verdict.environment}"`;
  const parts: string[] = [];
  if (live === 0) {
    parts.push(
      `no live replica ${where}: none has reported in the last ${seconds(liveWithinMs)}, so generation ${verdict.target} cannot be confirmed`,
    );
  } else if (verdict.state === 'done') {
    const names = verdict.converged.map((standing) => standing.replica).join(', ');
    parts.push(`all ${live} live replicas ${where} serve generation ${verdict.target} or later: ${names}`);
  }
  if (verdict.failed.length > 0) {
    const list = verdict.failed
      .map((s) => `${s.replica} (still serving ${s.serving}): ${s.message ?? 'no message'}`)
      .join('; ');
    parts.push(
      `${verdict.failed.length} of ${live} live replicas ${where} failed to apply generation ${verdict.target}: ${list}`,
    );
  }
  if (verdict.lagging.length > 0) {
    const list = verdict.lagging.map((s) => `${s.replica} ${s.why}`).join('; ');
    parts.push(
      `waiting for ${verdict.lagging.length} of ${live} live replicas ${where} to serve generation ${verdict.target}: ${list}`,
    );
  }
  if (verdict.stale.length > 0) {
    const list = verdict.stale
      .map((s) => `${s.replica} (last report ${seconds(s.ageMs)} ago, serving ${s.serving})`)
      .join(', ');
    parts.push(`not live (no report in ${seconds(liveWithinMs)}), not counted: ${list}`);
  }
  return parts.join('; ');
}
