/**
 * What `modelship history --json` prints: every version of one model that served traffic in one
 * environment, as periods. The zod schema is the contract (the types are inferred from it, and
 * the CLI's output is checked against it in tests); `docs/history.md` describes it for people.
 * The shape is versioned by `schemaVersion`: members may be added, none renamed or removed.
 */
import { z } from 'zod';

const time = z.iso.datetime({ offset: true });

/** One traffic share the rollout set, in percent of routed requests; null where an older log did not record it. */
const trafficChangeSchema = z.strictObject({
  at: time.describe('When the rollout set this share.'),
  share: z.number().min(0).max(100).nullable().describe('Percent of routed requests; null when unknown.'),
});

const approvalSchema = z.strictObject({
  step: z.int().min(1).nullable().describe("The approval step's 1-based position in the rollout."),
  decision: z.enum(['approved', 'rejected', 'timed-out']),
  approver: z.string().nullable().describe('Who decided, as verified; null when nobody did (timed out).'),
  method: z
    .enum(['signature', 'oidc', 'unsigned'])
    .nullable()
    .describe('How the approver proved who they are; null when timed out.'),
  issuer: z.string().optional().describe('The OIDC issuer of an `oidc` proof.'),
  proofFingerprint: z.string().optional().describe('Fingerprint of the proof, as in the audit log.'),
  comment: z.string().optional(),
  at: time,
});

/** The DeployModel run that brought a version in. */
const rolloutSchema = z.strictObject({
  workflowId: z.string(),
  runId: z.string(),
  commit: z.string().describe('The Git commit the run deployed.'),
  outcome: z
    .enum(['serving', 'promoted', 'rolled-back', 'running', 'unknown'])
    .describe(
      '`serving`: all traffic without a rollout; `running`: the run has not ended yet; `unknown`: a later run started before this one recorded an end.',
    ),
  reason: z.string().optional().describe('Why it was rolled back.'),
  startedBy: z
    .string()
    .optional()
    .describe("Who started the run, from the verified origin (apply's OIDC token)."),
  approvals: z.array(approvalSchema),
});

const periodEndSchema = z.strictObject({
  how: z
    .enum(['promotion', 'replaced', 'canary-rollback', 'monitor-rollback', 'retired', 'unknown'])
    .describe(
      '`promotion`: a newer version was promoted; `replaced`: another version took all traffic without a rollout; `canary-rollback`: rolled back during its own rollout; `monitor-rollback`: rolled back by the monitor after promotion; `retired`: the spec was removed; `unknown`: its run ended without a recorded outcome.',
    ),
  at: time,
  by: z.string().optional().describe('The version that served all traffic after it.'),
  reason: z.string().optional(),
});

/** One stretch of time during which one version served traffic. */
const servingPeriodSchema = z.strictObject({
  version: z
    .string()
    .describe("The data plane's name of the version (the bundle digest's first 12 characters)."),
  bundleDigest: z.string().nullable().describe('The full bundle digest; null where the log does not say.'),
  commit: z.string().nullable().describe('The Git commit of the spec that brought it in.'),
  role: z
    .enum(['stable', 'canary', 'canary-only'])
    .describe(
      '`stable`: served all traffic; `canary`: in a rollout still running; `canary-only`: served a share during its rollout and never all traffic.',
    ),
  began: z
    .enum(['first-version', 'direct', 'promoted', 'restored', 'canary'])
    .describe(
      '`first-version`: took all traffic when nothing else served; `direct`: replaced a serving version without a rollout; `promoted`: passed its rollout; `restored`: brought back by a rollback; `canary`: entered as a canary.',
    ),
  from: time.describe('When it first served any traffic (a promoted version: its first canary share).'),
  to: time.nullable().describe('When it stopped serving; null while it serves.'),
  ended: periodEndSchema.nullable(),
  maxShare: z.number().min(0).max(100).nullable().describe('Its largest traffic share; null when unknown.'),
  traffic: z.array(trafficChangeSchema).describe('Every share it was given, oldest first.'),
  rollout: rolloutSchema
    .nullable()
    .describe(
      'The run that brought it in (for a restored version, the run that first did); null when not in the log.',
    ),
});

/** The whole document. */
export const servingHistorySchema = z.strictObject({
  schemaVersion: z.literal(1),
  model: z.string(),
  environment: z.string(),
  auditLog: z.string().describe('Where the history was read from: a file, or a table and server.'),
  since: time.nullable().describe('Periods that ended before this time are left out.'),
  periods: z.array(servingPeriodSchema).describe('Newest first, by `from`.'),
});

export type ServingHistory = z.infer<typeof servingHistorySchema>;
export type ServingPeriod = z.infer<typeof servingPeriodSchema>;
export type PeriodEnd = z.infer<typeof periodEndSchema>;
export type RolloutSummary = z.infer<typeof rolloutSchema>;
export type ApprovalEntry = z.infer<typeof approvalSchema>;
export type TrafficChange = z.infer<typeof trafficChangeSchema>;
