/**
 * The two ways of offering load. Closed loop: N callers, each sending its next request when
 * the previous one is answered, so the server's speed sets the rate (what saturation
 * measurements need). Open loop: requests leave on a wall-clock schedule whatever the server
 * does, the way independent users arrive; a send that leaves late is counted, never silently
 * skipped, so a slow server or a starved client shows up as achieved < offered.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Sends request number `index` and resolves when it is answered (it never rejects). */
export type Issue = (index: number) => Promise<void>;

/** Decides whether another request may start; shared by both drivers. */
export class Bounds {
  private issued = 0;
  private readonly startNs = process.hrtime.bigint();

  constructor(
    private readonly limits: { durationMs: number | undefined; requests: number | undefined },
    private readonly signal: AbortSignal | undefined,
  ) {}

  /**
   * Why the run stopped issuing, or undefined while it may go on. `atMs` is the time the request
   * is for (its slot, in the open loop), so that a slot due before the end still leaves when the
   * timer that sends it fires just after the end; it defaults to now.
   */
  stopReason(atMs = this.elapsedMs()): 'requests' | 'duration' | 'interrupt' | undefined {
    if (this.signal?.aborted) return 'interrupt';
    if (this.limits.requests !== undefined && this.issued >= this.limits.requests) return 'requests';
    if (this.limits.durationMs !== undefined && atMs >= this.limits.durationMs) return 'duration';
    return undefined;
  }

  /** Claims the next request's index, or -1 when the run is over (see `stopReason` for `atMs`). */
  claim(atMs?: number): number {
    if (this.stopReason(atMs) !== undefined) return -1;
    this.issued += 1;
    return this.issued - 1;
  }

  get sent(): number {
    return this.issued;
  }

  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.startNs) / 1e6;
  }
}

/** `concurrency` callers in a loop until the bounds say stop. */
export async function closedLoop(concurrency: number, bounds: Bounds, issue: Issue): Promise<void> {
  const caller = async () => {
    for (let index = bounds.claim(); index !== -1; index = bounds.claim()) await issue(index);
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
}

/** How well the open-loop schedule was kept. */
export interface ScheduleReport {
  /** Sends that left more than `lateAfterMs` after their slot. */
  lateSends: number;
  /** The worst delay of a send behind its slot, in milliseconds. */
  maxLagMs: number;
  /** Time from the first send to the last, in seconds: `(sent - 1) / windowS` is the send rate. */
  windowS: number;
}

interface OpenLoopOptions {
  ratePerS: number;
  /** At most this many requests in flight; beyond that, sends wait and become late. */
  maxInFlight: number;
  /** Timer wake-ups jitter by about a millisecond; only delays beyond this count as late. */
  lateAfterMs: number;
}

/**
 * Request i is due at start + i / rate. The loop wakes on a timer, sends everything due, and
 * sleeps until the next slot; with rates above the timer's resolution (about 1 kHz) it sends
 * small bursts, which keeps the average exact without a busy loop.
 */
export async function openLoop(
  options: OpenLoopOptions,
  bounds: Bounds,
  issue: Issue,
): Promise<ScheduleReport> {
  const intervalMs = 1000 / options.ratePerS;
  const inFlight = new Set<Promise<void>>();
  let lateSends = 0;
  let maxLagMs = 0;
  let firstSendMs: number | undefined;
  let lastSendMs = 0;
  let slot = 0;
  let freed: (() => void) | undefined;

  for (;;) {
    const now = bounds.elapsedMs();
    let stopped = false;
    while (slot * intervalMs <= now && inFlight.size < options.maxInFlight) {
      const index = bounds.claim(slot * intervalMs);
      if (index === -1) {
        stopped = true;
        break;
      }
      const lag = now - slot * intervalMs;
      if (lag > options.lateAfterMs) lateSends += 1;
      if (lag > maxLagMs) maxLagMs = lag;
      firstSendMs ??= now;
      lastSendMs = now;
      slot += 1;
      const request: Promise<void> = issue(index).then(() => {
        inFlight.delete(request);
        freed?.();
      });
      inFlight.add(request);
    }
    if (stopped || bounds.stopReason() !== undefined) break;
    if (inFlight.size >= options.maxInFlight) {
      await new Promise<void>((resolve) => {
        freed = resolve;
      });
      freed = undefined;
    } else {
      // Capped so that an interrupt is noticed quickly even at a rate of one request a minute.
      await sleep(Math.min(100, Math.max(0, slot * intervalMs - bounds.elapsedMs())));
    }
  }
  await Promise.all(inFlight);
  return { lateSends, maxLagMs, windowS: (lastSendMs - (firstSendMs ?? 0)) / 1000 };
}
