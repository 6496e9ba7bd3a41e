/**
 * `POST /v2/models/{model}/feedback`: true labels for earlier predictions, batched.
 *
 *   { "labels": [ { "prediction_id": "…", "label": 2 },
 *                 { "prediction_id": "…", "labels": [2, 0] } ] }
 *
 * `label` answers an id of one row, `labels` one label per row of the batch the id covers, in
 * order. A label is an integer when the model predicts integer classes, a string when it predicts
 * strings. Bearer token: the feedback token (`feedback.ts` says why not the admin token).
 *
 * The whole body is checked before anything is counted: a malformed item (wrong shape, wrong
 * label type, a label count that does not match its id's rows) is a 400 naming the item, and no
 * label of the request is counted, so the client can fix and resend it all. Items that are well
 * formed but cannot be counted are answered, one outcome per item, never an error:
 * - `unknown`: not an id of ours: forged, tampered, truncated, signed with a key this server does
 *   not hold, or dated more than 5 minutes ahead of this server's clock;
 * - `wrong_model`: an authentic id of another model;
 * - `late`: issued longer ago than the maximum age (`feedbackMaxAgeMs`, default 30 days);
 * - `unknown_version`: a version this process has not loaded since it started;
 * - `duplicate`: a label for this id was already accepted by this process, within its replay
 *   window (`seen-ids.ts`; also a second item with the same id in one request);
 * - `accepted`: every row's label counted against the predicted class the id carries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CLOCK_SKEW_MS, type PredictionFeedback } from './feedback.ts';
import { HttpError, readBody, sendJson } from './http.ts';
import type { ServingLimits } from './limits.ts';
import {
  MAX_ID_LENGTH,
  MAX_ROWS_PER_ID,
  modelTag,
  type PredictionIdContent,
  verifyPredictionId,
} from './prediction-id.ts';
import type { ModelRegistry } from './registry.ts';
import { parseJsonBody } from './safe-json.ts';

/** Most items in one request (a 1 MiB body holds about this many). */
export const MAX_FEEDBACK_ITEMS = 10_000;
/** How many malformed items a 400 names. */
const NAMED_PROBLEMS = 10;

/** What a feedback item can come to. */
export type FeedbackOutcome =
  | 'accepted'
  | 'unknown'
  | 'wrong_model'
  | 'late'
  | 'unknown_version'
  | 'duplicate';

/** The answer to a feedback request: counts per outcome, and the outcome of each item in order. */
export interface FeedbackReply {
  model: string;
  items: number;
  /** Labelled rows counted (an accepted batch item counts its rows). */
  accepted_rows: number;
  accepted: number;
  unknown: number;
  wrong_model: number;
  late: number;
  unknown_version: number;
  duplicate: number;
  outcomes: FeedbackOutcome[];
}

const Label = z.union([z.number().int().refine(Number.isSafeInteger), z.string().min(1).max(256)], {
  error: 'must be an integer class or a non-empty string of at most 256 characters',
});

const Item = z
  .strictObject({
    prediction_id: z
      .string({ error: 'must be a string: the prediction id an infer answer carried' })
      .min(1, 'must not be empty')
      .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
    label: Label.optional(),
    labels: z
      .array(Label, { error: 'must be an array with one label per row of the prediction' })
      .min(1, 'must not be empty')
      .max(MAX_ROWS_PER_ID, `must have at most ${MAX_ROWS_PER_ID} labels (rows one id covers)`)
      .optional(),
  })
  .refine((item) => (item.label === undefined) !== (item.labels === undefined), {
    error: 'needs exactly one of "label" (an id of one row) or "labels" (one per row of its batch)',
  });
type Item = z.output<typeof Item>;

const Body = z.strictObject({
  labels: z
    .array(z.unknown(), { error: 'must be an array of { "prediction_id", "label" | "labels" }' })
    .min(1, 'must hold at least one item')
    .max(MAX_FEEDBACK_ITEMS, `must hold at most ${MAX_FEEDBACK_ITEMS} items; send more requests`),
});

/** What the feedback route needs from the server. */
interface FeedbackContext {
  registry: ModelRegistry;
  limits: ServingLimits;
}

const where = (index: number, path: readonly PropertyKey[]) =>
  `labels[${index}]${path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')}`;

/** An item checked: an outcome, or the verified id with the item's labels as text. */
type Checked =
  | { outcome: Exclude<FeedbackOutcome, 'accepted' | 'duplicate'> }
  | { outcome: 'countable'; id: PredictionIdContent; labels: string[] };

/** One well-formed item against what its id says; a string is the item's problem (a 400). */
function check(
  feedback: PredictionFeedback,
  ctx: FeedbackContext,
  model: string,
  tag: Buffer,
  item: Item,
  now: number,
): Checked | string {
  const id = verifyPredictionId(feedback.keys, item.prediction_id);
  if (id === undefined || id.issuedAt * 1000 > now + CLOCK_SKEW_MS) return { outcome: 'unknown' };
  if (!id.modelTag.equals(tag)) return { outcome: 'wrong_model' };
  if (now - id.issuedAt * 1000 > feedback.maxAgeMs) return { outcome: 'late' };
  const loaded = ctx.registry.get(model)?.snapshot.versions.has(id.version) ?? false;
  if (!loaded && feedback.performance.get(model, id.version) === undefined)
    return { outcome: 'unknown_version' };
  const given = item.labels ?? [item.label as string | number];
  if (given.length !== id.classes.length) {
    return item.labels === undefined
      ? `the prediction id covers ${id.classes.length} rows: send "labels" with one label per row, in order`
      : `has ${given.length} labels, but the prediction id covers ${id.classes.length} rows`;
  }
  const wanted = id.integerClasses ? 'number' : 'string';
  const wrong = given.findIndex((label) => typeof label !== wanted);
  if (wrong !== -1) {
    const at = item.labels === undefined ? '.label' : `.labels[${wrong}]`;
    return `${at}: must be ${id.integerClasses ? 'an integer' : 'a string'}: model "${model}" predicts ${id.integerClasses ? 'integer' : 'string'} classes`;
  }
  return { outcome: 'countable', id, labels: given.map(String) };
}

/** Handles `POST /v2/models/{model}/feedback`. */
export async function handleFeedback(
  feedback: PredictionFeedback,
  ctx: FeedbackContext,
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
): Promise<void> {
  if (feedback.authorize === undefined) {
    throw new HttpError(
      403,
      'feedback is not enabled on this server: it needs a feedback token (`modelship serve --feedback-token-file FILE`)',
    );
  }
  if (!feedback.authorize(req.headers.authorization)) {
    throw new HttpError(
      401,
      req.headers.authorization === undefined
        ? 'feedback needs "Authorization: Bearer <feedback token>"'
        : 'the feedback token is not valid',
      undefined,
      { 'www-authenticate': 'Bearer realm="modelship-feedback"' },
    );
  }
  if (req.method !== 'POST')
    throw new HttpError(405, `method ${req.method} not allowed here; use POST`, undefined, { allow: 'POST' });
  if (ctx.registry.get(model) === undefined && !feedback.performance.hasModel(model))
    throw new HttpError(404, `model "${model}" is not served here`);

  const body = Body.safeParse(parseJsonBody(await readBody(req, ctx.limits), ctx.limits.maxJsonDepth));
  if (!body.success) {
    const issue = body.error.issues[0];
    throw new HttpError(400, `invalid feedback body: ${issue?.path.join('.') || 'body'}: ${issue?.message}`);
  }
  const now = Date.now();
  const tag = modelTag(model);
  const problems: string[] = [];
  const checked = body.data.labels.map((raw, index): Checked | undefined => {
    const item = Item.safeParse(raw);
    if (!item.success) {
      for (const issue of item.error.issues) problems.push(`${where(index, issue.path)}: ${issue.message}`);
      return undefined;
    }
    const result = check(feedback, ctx, model, tag, item.data, now);
    if (typeof result === 'string') {
      problems.push(result.startsWith('.') ? `labels[${index}]${result}` : `labels[${index}]: ${result}`);
      return undefined;
    }
    return result;
  });
  if (problems.length > 0) {
    const more = problems.length > NAMED_PROBLEMS ? `; and ${problems.length - NAMED_PROBLEMS} more` : '';
    throw new HttpError(
      400,
      `invalid feedback, nothing counted: ${problems.slice(0, NAMED_PROBLEMS).join('; ')}${more}`,
    );
  }

  const reply: FeedbackReply = {
    model,
    items: checked.length,
    accepted_rows: 0,
    accepted: 0,
    unknown: 0,
    wrong_model: 0,
    late: 0,
    unknown_version: 0,
    duplicate: 0,
    outcomes: [],
  };
  const seen = feedback.seen();
  for (const result of checked as Checked[]) {
    let outcome: FeedbackOutcome;
    if (result.outcome !== 'countable') outcome = result.outcome;
    else if (!seen.add(result.id.fingerprint)) outcome = 'duplicate';
    else {
      outcome = 'accepted';
      const counters = feedback.performance.forVersion(model, result.id.version);
      result.labels.forEach((label, row) => {
        counters.addLabel(label, result.id.classes[row] as string, result.id.probabilities?.[row]);
      });
      reply.accepted_rows += result.labels.length;
    }
    reply[outcome] += 1;
    reply.outcomes.push(outcome);
  }
  sendJson(res, 200, reply);
}
