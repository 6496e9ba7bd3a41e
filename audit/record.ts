/**
 * The audit event (what happened) and the stored record (the event plus its place in the hash
 * chain). The zod schemas are the single source of truth; the types are inferred from them.
 */
import { z } from 'zod';
import { canonicalJson } from './canonical.ts';

export { digestOf } from './canonical.ts';

/** What an audit event records. New kinds are added here; stored records keep verifying. */
export const AuditKind = {
  /** An activity attempt began on a worker. */
  ActivityStarted: 'activity.started',
  /** An activity attempt returned a result. */
  ActivityCompleted: 'activity.completed',
  /** An activity attempt threw; `error` says what. */
  ActivityFailed: 'activity.failed',
  /** The workflow decided something: a step entered, an approval, a rollback, the final result. */
  WorkflowDecision: 'workflow.decision',
} as const;

export type AuditKind = (typeof AuditKind)[keyof typeof AuditKind];

/** Upper bound on the canonical JSON of `details`: the log is for facts, digests carry bulk. */
export const MAX_DETAILS_BYTES = 16 * 1024;

/** Error messages are cut here so one runaway stack trace cannot bloat every reader's output. */
export const MAX_ERROR_MESSAGE_LENGTH = 2000;

/** The genesis `prevHash`: what the first record of every chain points back to. */
export const GENESIS_HASH = '0'.repeat(64);

const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256')
  .describe('SHA-256, lowercase hex');

// A lone UTF-16 surrogate or a NUL would be stored differently from how it was hashed (the
// database re-encodes it), making an honest record fail verification. Such characters can only
// arrive from foreign text (an error message, a file name), so they are replaced, not refused:
// refusing would turn the append into an error Temporal retries forever.
const LONE_SURROGATE_OR_NUL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is one of the characters replaced.
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/** `value` with lone surrogates and NUL replaced by U+FFFD, so it survives storage unchanged. */
function storableText(value: string): string {
  return value.replace(LONE_SURROGATE_OR_NUL, '\uFFFD');
}

const text = z.string().min(1).transform(storableText);

// Callers hand over whatever their payload holds (optional fields left undefined, a Date, a
// NaN metric); normalising through canonical JSON first stores exactly the JSON that is hashed
// and read back, the same way Temporal would serialise it. Only bigint and cycles are refused:
// a decision must not go unrecorded because one metric was not a number.
const details = z
  .preprocess(
    (value, ctx) => {
      try {
        return JSON.parse(canonicalJson(value)) as unknown;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    },
    z.record(z.string(), z.json()),
  )
  .refine((value) => Buffer.byteLength(canonicalJson(value)) <= MAX_DETAILS_BYTES, {
    message: `details must stay under ${MAX_DETAILS_BYTES} bytes of canonical JSON`,
  })
  .describe('Small JSON object of facts, e.g. metric values or the reason of a rollback.');

const errorInfo = z
  .strictObject({
    type: text.optional().describe('Failure type, e.g. a domain failure type such as DigestMismatch.'),
    message: z
      .string()
      .transform((message) =>
        message.length > MAX_ERROR_MESSAGE_LENGTH
          ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…`
          : message,
      )
      .describe('Human-readable message (long ones are cut).'),
  })
  .describe('What went wrong, for activity.failed and failed decisions.');

/** Schema of one audit event, as the interceptors hand it to {@link AuditStore.append}. */
const auditEventSchema = z.strictObject({
  time: z.iso.datetime({ offset: true }).describe('When it happened, ISO 8601.'),
  kind: z.enum(AuditKind).describe('What kind of event this is.'),
  model: text.describe('metadata.name of the spec.'),
  environment: text.describe('spec.rollout.environment.'),
  commit: text.describe('Git commit the spec was read at.'),
  workflowId: text.describe('Temporal workflow id.'),
  runId: text.describe('Temporal run id.'),
  step: text.describe('Activity type (resolveArtifact) or decision name (validation.passed).'),
  activityId: text.optional().describe('Temporal activity id, for activity events.'),
  attempt: z.int().min(1).optional().describe('Activity attempt, 1-based.'),
  actor: text.describe('Who acted: worker:<identity>, workflow, or the person who approved.'),
  inputDigest: sha256.optional().describe('digestOf(input): proves what went in without storing it.'),
  outputDigest: sha256.optional().describe('digestOf(result): proves what came out.'),
  error: errorInfo.optional(),
  details: details.optional(),
});

/** Schema of a stored record: the event plus its position and links in the hash chain. */
export const auditRecordSchema = auditEventSchema.extend({
  seq: z.int().min(1).describe('Position in the log, 1-based and gapless.'),
  prevHash: sha256.describe('hash of the record before, or 64 zeros for the first.'),
  hash: sha256.describe('hashRecord(prevHash, seq, event).'),
});

/** What callers pass to `append` (details may still hold undefined members or Dates). */
export type AuditEventInput = z.input<typeof auditEventSchema>;
/** A validated, normalised audit event. */
export type AuditEvent = z.output<typeof auditEventSchema>;
/** A stored, chained audit record. */
export type AuditRecord = z.output<typeof auditRecordSchema>;

/** Thrown by `append` when an event does not match {@link auditEventSchema}. */
export class InvalidAuditEventError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid audit event: ${issues.join('; ')}`);
    this.name = 'InvalidAuditEventError';
  }
}

/** Validates and normalises an event; throws {@link InvalidAuditEventError} naming each bad field. */
export function parseAuditEvent(input: unknown): AuditEvent {
  const parsed = auditEventSchema.safeParse(input);
  if (!parsed.success) throw new InvalidAuditEventError(describeIssues(parsed.error));
  return parsed.data;
}

/** `path: message` for each issue, the form used across modelship. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(record)'}: ${issue.message}`,
  );
}
