/**
 * Ground truth when it comes: what the infer path does for it, and the state the feedback
 * endpoint (`feedback-api.ts`) and the performance report read.
 *
 * On the hot path, for a routed request only (pinned ones are the client's choice of version, not
 * a sample of its traffic, and get no id): the top-class probability of each row is taken from
 * the model's probability output when it has one (a float output shaped [-1, classes]) and added
 * to the version's estimate without labels; then a prediction id is issued (`prediction-id.ts`)
 * carrying the predicted classes and those probabilities. When the client did not ask for the
 * probability output, it is fetched anyway: onnxruntime computes it with the label in the
 * classifiers we serve, and copying it out costs about 1.3 µs per iris request (measured), less
 * than writing it into the JSON answer costs a client that asks for every output. That keeps the
 * estimate a sample of all routed traffic rather than of the clients that happen to fetch it.
 *
 * Configuration (`FeedbackServerOptions`, part of the server's options):
 * - The prediction id key is derived from `predictionIdSecrets`; without them, from the admin
 *   token, which every replica of a fleet already shares; without either, from a random secret
 *   of this server (ids then die with the process: library use and tests).
 * - The feedback endpoint needs its own bearer token, `feedbackToken`, never the admin token:
 *   label sources (an application, a labelling job) need not and must not be able to load,
 *   promote or roll back models, and a label source's leaked token must not be an admin's. Without
 *   one, feedback is refused (403): anonymous labels could push a version below its floor and
 *   set off a rollback or a retraining.
 */
import { randomBytes } from 'node:crypto';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { type Authorizer, bearerAuthorizer } from './auth.ts';
import { ServingConfigError } from './limits.ts';
import { PerformanceRegistry, type VersionLabels } from './live-performance.ts';
import type { ModelVersion } from './model-version.ts';
import {
  idPrefix,
  MAX_ROWS_PER_ID,
  PredictionIdIssuer,
  type PredictionIdKeys,
  predictionIdKeys,
} from './prediction-id.ts';
import { DEFAULT_REPLAY_WINDOW, SeenIds } from './seen-ids.ts';

/** The feedback options of `startServingServer`. */
export interface FeedbackServerOptions {
  /**
   * Secrets prediction ids are authenticated with, HKDF-derived into HMAC keys: the first signs,
   * all verify (rotation). Every replica that should accept another's ids needs the same first
   * secret. Default: the admin token; without one, random per server.
   */
  predictionIdSecrets?: readonly string[];
  /** Bearer token of `POST /v2/models/{m}/feedback`; without it feedback is refused (403). */
  feedbackToken?: string;
  /** Labels of predictions older than this are refused as late (default 30 days). */
  feedbackMaxAgeMs?: number;
  /** Ids always remembered to refuse a label sent twice (default 262,144; memory 32 bytes each). */
  feedbackReplayWindow?: number;
  /** Issue prediction ids at all (default: when monitoring is on, as the estimate is). */
  predictionIds?: boolean;
}

/** Default `feedbackMaxAgeMs`: 30 days. */
export const DEFAULT_FEEDBACK_MAX_AGE_MS = 30 * 86_400_000;

/** How far in the future an id's time may be (clocks of replicas differ). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** What the infer path keeps per loaded version, computed on its first request. */
interface VersionFeedback {
  /** The constant start of its ids; undefined: no ids (a version name over 255 bytes). */
  prefix: Buffer | undefined;
  /** The float output shaped [-1, classes] read as probabilities, if the model has one. */
  probabilities: string | undefined;
  labels: VersionLabels;
}

/** The float output of rank 2, other than the class output, that holds class probabilities. */
function probabilityOutput(version: ModelVersion): string | undefined {
  const candidates = version.outputs.filter(
    (output) =>
      output.name !== version.classOutput &&
      (output.datatype === 'FP32' || output.datatype === 'FP64') &&
      output.shape.length === 2 &&
      output.shape[1] !== 1,
  );
  return (candidates.find((output) => /prob/i.test(output.name)) ?? candidates[0])?.name;
}

const checkToken = (token: string) => {
  if (!/^\S+$/.test(token))
    throw new ServingConfigError('the feedback token must be non-empty and contain no whitespace');
};

/** The prediction ids, label counters and replay set of one server. */
export class PredictionFeedback {
  readonly performance = new PerformanceRegistry();
  readonly keys: PredictionIdKeys;
  /** Checks the feedback bearer token; undefined: no token configured, feedback refused. */
  readonly authorize: Authorizer | undefined;
  readonly maxAgeMs: number;
  private readonly issuer: PredictionIdIssuer;
  private readonly versions = new WeakMap<ModelVersion, VersionFeedback>();
  private readonly top = new Float64Array(MAX_ROWS_PER_ID);
  private readonly replayWindow: number;
  private readonly issueIds: boolean;
  private seenIds: SeenIds | undefined;

  /**
   * Throws ServingConfigError for unusable options. `estimate`: count the estimate without labels
   * (the server's monitoring switch), and by default issue ids.
   */
  constructor(
    options: FeedbackServerOptions & { adminToken?: string | undefined },
    private readonly estimate: boolean,
  ) {
    const { feedbackToken, feedbackMaxAgeMs = DEFAULT_FEEDBACK_MAX_AGE_MS } = options;
    const { feedbackReplayWindow = DEFAULT_REPLAY_WINDOW } = options;
    if (feedbackToken !== undefined) {
      checkToken(feedbackToken);
      if (feedbackToken === options.adminToken)
        throw new ServingConfigError(
          'the feedback token must differ from the admin token: label sources must not hold the admin token',
        );
    }
    if (!Number.isSafeInteger(feedbackMaxAgeMs) || feedbackMaxAgeMs < 1000)
      throw new ServingConfigError(
        `feedbackMaxAgeMs must be an integer of at least 1000, got ${feedbackMaxAgeMs}`,
      );
    if (
      !Number.isSafeInteger(feedbackReplayWindow) ||
      feedbackReplayWindow < 1 ||
      feedbackReplayWindow > 2 ** 24
    )
      throw new ServingConfigError(
        `feedbackReplayWindow must be an integer from 1 to ${2 ** 24}, got ${feedbackReplayWindow}`,
      );
    const secrets =
      options.predictionIdSecrets ??
      (options.adminToken === undefined ? [randomBytes(32).toString('base64url')] : [options.adminToken]);
    if (secrets.length === 0 || secrets.some((secret) => secret.length === 0))
      throw new ServingConfigError('predictionIdSecrets must hold at least one non-empty secret');
    this.keys = predictionIdKeys(secrets);
    this.issuer = new PredictionIdIssuer(this.keys);
    this.authorize = feedbackToken === undefined ? undefined : bearerAuthorizer(feedbackToken);
    this.maxAgeMs = feedbackMaxAgeMs;
    this.replayWindow = feedbackReplayWindow;
    this.issueIds = options.predictionIds ?? estimate;
  }

  /** The replay set, allocated on the first feedback (servers without feedback pay nothing). */
  seen(): SeenIds {
    this.seenIds ??= new SeenIds(this.replayWindow);
    return this.seenIds;
  }

  private stateOf(version: ModelVersion): VersionFeedback {
    let state = this.versions.get(version);
    if (state === undefined) {
      state = {
        prefix: idPrefix(this.keys, version.model, version.name),
        probabilities: probabilityOutput(version),
        labels: this.performance.forVersion(version.model, version.name),
      };
      this.versions.set(version, state);
    }
    return state;
  }

  /** The outputs a routed request runs: the client's, plus the probability output for the estimate. */
  fetches(version: ModelVersion, fetches: readonly string[], pinned: boolean): readonly string[] {
    if (pinned || !this.estimate) return fetches;
    const probabilities = this.stateOf(version).probabilities;
    return probabilities === undefined || fetches.includes(probabilities)
      ? fetches
      : [...fetches, probabilities];
  }

  /**
   * For a routed answer: counts the rows' top-class probabilities into the estimate and returns
   * the prediction id, or undefined (no class output, or a batch too large for one id). Called
   * once the model has answered and before the answer is written, so a request whose answer then
   * proves too large (413) still counts its rows: the model did predict them.
   */
  predicted(version: ModelVersion, results: InferenceSession.OnnxValueMapType): string | undefined {
    const state = this.stateOf(version);
    const classes = results[version.classOutput]?.data as ArrayLike<number | bigint | string> | undefined;
    if (classes === undefined) return undefined;
    const probabilities = state.probabilities === undefined ? undefined : results[state.probabilities];
    const top =
      probabilities === undefined ? undefined : this.topOf(probabilities, classes.length, state.labels);
    if (state.prefix === undefined || !this.issueIds) return undefined;
    return this.issuer.issue(state.prefix, classes, top);
  }

  /**
   * Each row's largest probability: counted into the estimate (when metrics are on), and kept for
   * the id's first rows. Undefined when the output is not a distribution over the classes for
   * every one of those rows (a value outside [0, 1], NaN, or a row not summing to 1).
   */
  private topOf(tensor: Tensor, rows: number, labels: VersionLabels): Float64Array | undefined {
    const data = tensor.data as Float32Array | Float64Array;
    const width = tensor.dims[1] ?? 0;
    if (tensor.dims.length !== 2 || tensor.dims[0] !== rows || width < 1) return undefined;
    let valid = true;
    for (let row = 0; row < rows; row += 1) {
      let max = -1;
      let min = 2;
      let sum = 0;
      for (let at = row * width, end = at + width; at < end; at += 1) {
        const p = data[at] as number;
        if (p > max) max = p;
        if (p < min) min = p;
        sum += p;
      }
      // NaN fails every comparison, so it lands here too.
      const ok = min >= 0 && max <= 1 && Math.abs(sum - 1) <= 1e-3;
      if (this.estimate) {
        if (ok) labels.observeTop(max);
        else labels.skipTop();
      }
      if (row < MAX_ROWS_PER_ID) {
        this.top[row] = max;
        if (!ok) valid = false;
      }
    }
    return valid ? this.top : undefined;
  }

  /** The Prometheus families of the label counters and the estimate. */
  prometheus(): string {
    return this.performance.prometheus();
  }
}
