/**
 * `runLoad`: the load generator as a function, for `modelship load`, the benchmark, the demo and
 * tests. It cycles through the holdout rows, sends each as a single-row request, times it on
 * the client with `process.hrtime.bigint()`, and reads which version answered and what it
 * predicted. It always stops by itself: after a duration, a number of requests, or an abort.
 */
import { ROUTE_KEY_HEADER, VERSION_HEADER } from '../headers.ts';
import { Bounds, closedLoop, type Issue, openLoop, type ScheduleReport } from './drivers.ts';
import { type FeatureShift, loadHoldoutPayloads } from './payload.ts';
import { predictionOf } from './prediction.ts';
import { createRawTransport } from './raw-transport.ts';
import { LoadStats, type Outcome, type OutcomeSummary, type ProgressSnapshot } from './stats.ts';
import {
  createFetchTransport,
  createHttpTransport,
  type RequestHeaders,
  type Transport,
  TransportKind,
  type TransportOptions,
  toTransportError,
} from './transport.ts';

/** Fixed rate (open loop) or fixed number of callers (closed loop). */
export type LoadMode =
  | { kind: 'rate'; ratePerS: number; maxInFlight?: number }
  | { kind: 'concurrency'; concurrency: number };

export interface LoadOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8000`. */
  url: string;
  model: string;
  /** Holdout CSV: feature columns and a label column. */
  holdout: string;
  /** Default `label`. */
  labelColumn?: string;
  /** Name of the request's input tensor; default `input`. */
  inputName?: string;
  /** The output holding the predicted class; default `label`. */
  predictionOutput?: string;
  mode: LoadMode;
  /** Stop after this long; at least one of `durationMs`, `requests` is required. */
  durationMs?: number;
  /** Stop after sending this many requests. */
  requests?: number;
  /** Sends `x-modelship-route-key: <prefix><n>` with n cycling over `routeKeys` callers. */
  routeKeyPrefix?: string;
  /** How many distinct route keys (simulated callers); default 1000. */
  routeKeys?: number;
  /** Sends `x-modelship-version: <version>` so the server answers with that version. */
  pinVersion?: string;
  /** Default `http`; see `transport.ts`. */
  transport?: TransportKind;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Default 1 s. */
  progressIntervalMs?: number;
  /** Open loop only: delays beyond this count as late sends; default 5 ms. */
  lateAfterMs?: number;
  /** Send one request first and throw LoadTargetError if the server is unreachable; default true. */
  preflight?: boolean;
  /**
   * Replays the holdout with one feature shifted, from `afterMs` into the run (default 0): drifted
   * traffic for the monitor (`docs/monitoring.md`).
   */
  shift?: FeatureShift & { afterMs?: number };
}

export interface LoadHooks {
  /** Called every `progressIntervalMs` while the run goes on. */
  onProgress?: (progress: ProgressSnapshot) => void;
  /** Aborting stops sending; requests in flight finish and the summary is still returned. */
  signal?: AbortSignal;
}

/** The result of one run; the JSON that `modelship load --json` prints. */
export interface LoadSummary extends OutcomeSummary {
  url: string;
  model: string;
  transport: TransportKind;
  mode: LoadMode['kind'];
  concurrency: number | null;
  /** Open loop: the rate asked for, requests per second. */
  offeredRate: number | null;
  /** Open loop: the rate at which requests actually left. */
  sendRate: number | null;
  /** Open loop: sends that left late, and the worst delay. */
  lateSends: number | null;
  maxLagMs: number | null;
  /** Answers (of any status) per second over the run. */
  achievedRate: number;
  sent: number;
  durationS: number;
  startedAt: string;
  stoppedBy: 'duration' | 'requests' | 'interrupt';
  /** The first failure's message (transport error or error body), to say what went wrong. */
  firstError: string | null;
}

/** The server could not be used at all (unreachable, or no such model): nothing was measured. */
export class LoadTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadTargetError';
  }
}

const TRANSPORTS: Record<TransportKind, (options: TransportOptions) => Transport> = {
  [TransportKind.Http]: createHttpTransport,
  [TransportKind.Fetch]: createFetchTransport,
  [TransportKind.Raw]: createRawTransport,
};

function requestHeaders(options: LoadOptions): (index: number) => RequestHeaders | undefined {
  const { routeKeyPrefix, pinVersion } = options;
  const keys = options.routeKeys ?? 1000;
  if (routeKeyPrefix === undefined && pinVersion === undefined) return () => undefined;
  const pin = pinVersion === undefined ? {} : { [VERSION_HEADER]: pinVersion };
  if (routeKeyPrefix === undefined) return () => pin;
  return (index) => ({ ...pin, [ROUTE_KEY_HEADER]: `${routeKeyPrefix}${index % keys}` });
}

async function preflight(transport: Transport, body: Buffer, options: LoadOptions): Promise<void> {
  try {
    const reply = await transport.send(body, requestHeaders(options)(0));
    if (reply.status === 404) {
      throw new LoadTargetError(
        `${options.url} answered 404 for model "${options.model}": ${reply.body.toString('utf8').slice(0, 300)}`,
      );
    }
  } catch (error) {
    if (error instanceof LoadTargetError) throw error;
    throw new LoadTargetError(`cannot reach ${options.url}: ${toTransportError(error).message}`);
  }
}

/** Runs one bounded load; see LoadOptions for the knobs and LoadSummary for what comes back. */
export async function runLoad(options: LoadOptions, hooks: LoadHooks = {}): Promise<LoadSummary> {
  if (options.durationMs === undefined && options.requests === undefined) {
    throw new Error('runLoad needs a bound: durationMs or requests');
  }
  const payloads = await loadHoldoutPayloads({
    path: options.holdout,
    labelColumn: options.labelColumn ?? 'label',
    inputName: options.inputName ?? 'input',
    ...(options.shift ? { shift: options.shift } : {}),
  });
  // Drifted rows from `afterMs` into the run on; the clock starts with the first send.
  let runStartedMs = Number.POSITIVE_INFINITY;
  const shiftAfterMs = options.shift?.afterMs ?? 0;
  const bodiesNow = () =>
    payloads.shiftedBodies && performance.now() - runStartedMs >= shiftAfterMs
      ? payloads.shiftedBodies
      : payloads.bodies;
  const { mode } = options;
  const maxInFlight = mode.kind === 'rate' ? (mode.maxInFlight ?? 1024) : mode.concurrency;
  const kind = options.transport ?? TransportKind.Http;
  const transport = TRANSPORTS[kind]({
    url: options.url,
    model: options.model,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxConnections: maxInFlight,
  });
  const outputName = options.predictionOutput ?? 'label';
  const headersFor = requestHeaders(options);
  const stats = new LoadStats();
  let firstError: string | null = null;

  const issue: Issue = async (index) => {
    const row = index % payloads.bodies.length;
    const body = bodiesNow()[row] as Buffer;
    const label = payloads.labels[row] ?? -1;
    const start = process.hrtime.bigint();
    let outcome: Outcome;
    try {
      const reply = await transport.send(body, headersFor(index));
      const latencyNs = Number(process.hrtime.bigint() - start);
      const ok = reply.status >= 200 && reply.status < 300;
      if (!ok) firstError ??= `HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 300)}`;
      const prediction = ok ? predictionOf(reply.body, outputName) : undefined;
      outcome = { latencyNs, status: reply.status, version: reply.version, prediction, label };
    } catch (error) {
      const failure = toTransportError(error);
      firstError ??= `${failure.kind}: ${failure.message}`;
      const latencyNs = Number(process.hrtime.bigint() - start);
      outcome = { latencyNs, status: failure.kind, version: undefined, prediction: undefined, label };
    }
    stats.record(outcome);
  };

  try {
    if (options.preflight ?? true) await preflight(transport, payloads.bodies[0] as Buffer, options);
    const startedAt = new Date().toISOString();
    runStartedMs = performance.now();
    const bounds = new Bounds({ durationMs: options.durationMs, requests: options.requests }, hooks.signal);
    const onProgress = hooks.onProgress;
    const ticker = onProgress
      ? setInterval(
          () => onProgress(stats.progress(bounds.elapsedMs() / 1000)),
          options.progressIntervalMs ?? 1000,
        )
      : undefined;
    ticker?.unref();
    let schedule: ScheduleReport | undefined;
    try {
      if (mode.kind === 'rate') {
        schedule = await openLoop(
          { ratePerS: mode.ratePerS, maxInFlight, lateAfterMs: options.lateAfterMs ?? 5 },
          bounds,
          issue,
        );
      } else {
        await closedLoop(mode.concurrency, bounds, issue);
      }
    } finally {
      clearInterval(ticker);
    }
    const durationS = bounds.elapsedMs() / 1000;
    const counted = stats.summary();
    return {
      url: options.url,
      model: options.model,
      transport: kind,
      mode: mode.kind,
      concurrency: mode.kind === 'concurrency' ? mode.concurrency : null,
      offeredRate: mode.kind === 'rate' ? mode.ratePerS : null,
      sendRate: schedule
        ? bounds.sent > 1 && schedule.windowS > 0
          ? (bounds.sent - 1) / schedule.windowS
          : 0
        : null,
      lateSends: schedule ? schedule.lateSends : null,
      maxLagMs: schedule ? Math.round(schedule.maxLagMs * 1000) / 1000 : null,
      achievedRate: durationS > 0 ? counted.requests / durationS : 0,
      sent: bounds.sent,
      durationS,
      startedAt,
      stoppedBy: bounds.stopReason() ?? 'requests',
      firstError,
      ...counted,
    };
  } finally {
    transport.close();
  }
}
