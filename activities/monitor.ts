/**
 * Watching a candidate on live traffic for an `analysis` or `shadow` step, inside ONE long
 * activity that reads the data plane's counters every `interval`, asks the judge, and returns as
 * soon as the verdict is decided (or the step's time is up). One activity per sample would fill
 * the workflow history with thousands of events; a heartbeat carries the progress instead, so a
 * worker that dies mid-watch is replaced and the retry resumes the same window.
 */
import { Context } from '@temporalio/activity';
import type { Verdict } from '../analysis/judge.ts';
import { judgeSequential } from '../analysis/sequential-judge.ts';
import { shadowVerdict, thresholdJudge } from '../analysis/threshold-judge.ts';
import { emptyWindow, modelWindows, type VersionCounters } from '../analysis/window.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import type { AdminClient } from '../serving/admin-client.ts';
import type { AnalysisSpec } from '../specs/schema.ts';
import { adminCounterSource, type CounterSource } from './counter-source.ts';
import { heartbeat } from './heartbeat.ts';

interface WatchCandidateInput {
  deployment: DeploymentRef;
  stable: string;
  candidate: string;
  /** `analysis` judges the canary against stable; `shadow` judges mirrored agreement. */
  mode: 'analysis' | 'shadow';
  /** The whole watch, extensions included, in milliseconds. */
  durationMs: number;
  intervalMs: number;
  analysis: AnalysisSpec;
  /** Shadow steps: the lowest acceptable share of agreeing rows. */
  minAgreement?: number;
  /** The candidate's share of live traffic during the watch, in percent. */
  candidateWeight: number;
  /**
   * Where an earlier watch of the same step began (an extension): its counters and start time,
   * so the window keeps adding up instead of starting over.
   */
  resume?: WatchStart;
}

/** The start of a watch: counters at the start and when it was, for windows and elapsed time. */
export interface WatchStart {
  startedAtMs: number;
  baseline: Record<string, VersionCounters>;
}

export interface WatchCandidateResult {
  verdict: Verdict;
  /** Hand back as `resume` to extend the same watch. */
  start: WatchStart;
  elapsedMs: number;
  reads: number;
}

/** How often a watch heartbeats while it waits for its next read (the workflow allows 20 s). */
const HEARTBEAT_EVERY_MS = 5_000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolveSleep, reject) => {
    const timer = setTimeout(resolveSleep, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

function previousStart(): WatchStart | undefined {
  try {
    const details = Context.current().info.heartbeatDetails as { start?: WatchStart } | undefined;
    return details?.start;
  } catch {
    return undefined;
  }
}

export function createMonitorActivities(deps: {
  admin: AdminClient;
  /** Where each environment's counters are read; default the admin API everywhere. */
  counters?: (environment: string) => CounterSource;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const sources = deps.counters ?? (() => adminCounterSource(deps.admin));

  return {
    /** Watches until the verdict is `pass` or `fail`, or the time is up (then the last verdict). */
    async watchCandidate(input: WatchCandidateInput): Promise<WatchCandidateResult> {
      const model = input.deployment.model;
      const source = sources(input.deployment.environment);
      const read = (name: string) => source.read(name);
      // A retry after a worker died resumes the window its heartbeat recorded.
      const start: WatchStart = input.resume ??
        previousStart() ?? { startedAtMs: now(), baseline: await read(model) };
      const signal = activitySignal();
      let reads = 0;
      // The sequential judge carries its state (e.g. a fixed latency threshold) from read to read.
      let previous: Verdict | undefined;
      for (;;) {
        const elapsedBefore = now() - start.startedAtMs;
        const wait = Math.min(input.intervalMs, Math.max(0, input.durationMs - elapsedBefore));
        // An interval may be longer than the heartbeat timeout: keep heartbeating while waiting.
        for (let waited = 0; waited < wait; waited += HEARTBEAT_EVERY_MS) {
          await sleep(Math.min(HEARTBEAT_EVERY_MS, wait - waited), signal);
          heartbeat({ start, reads });
        }
        const windows = modelWindows(start.baseline, await read(model));
        reads += 1;
        const elapsedMs = now() - start.startedAtMs;
        const candidate = windows[input.candidate] ?? emptyWindow();
        const timeUp = elapsedMs >= input.durationMs;
        let verdict: Verdict;
        if (input.mode === 'shadow') {
          const judged = shadowVerdict(candidate, input.minAgreement ?? 0.98, input.analysis.minRequests);
          // Mid-watch only a failure is final; at the end, whatever the agreement says.
          verdict = timeUp || judged.outcome === 'fail' ? judged : { ...judged, outcome: 'continue' };
        } else {
          const judgeInput = {
            stable: windows[input.stable] ?? emptyWindow(),
            candidate,
            limits: input.analysis,
            context: {
              elapsedMs,
              durationMs: input.durationMs,
              minRequests: input.analysis.minRequests,
              candidateWeight: input.candidateWeight,
            },
            ...(previous ? { previous } : {}),
          };
          verdict =
            input.analysis.judge === 'threshold'
              ? thresholdJudge.judge(judgeInput)
              : judgeSequential(judgeInput, {
                  alpha: input.analysis.alpha,
                  minEffect: input.analysis.minEffect,
                });
          previous = verdict;
        }
        heartbeat({ start, reads, outcome: verdict.outcome, reason: verdict.reason });
        if (verdict.outcome !== 'continue' || timeUp) {
          const final =
            verdict.outcome === 'continue' ? { ...verdict, outcome: 'inconclusive' as const } : verdict;
          return { verdict: final, start, elapsedMs, reads };
        }
      }
    },
  };
}
