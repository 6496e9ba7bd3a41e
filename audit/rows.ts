/**
 * How an audit record maps onto a row of the audit table, the same for every backend (SQLite,
 * PostgreSQL): the fields people filter on are columns, the rest one JSON text column. Reading
 * rebuilds the record from the columns themselves (never from a second copy), so editing any
 * column changes the rebuilt record and breaks its hash.
 */
import { type AuditRecord, auditRecordSchema, describeIssues } from './record.ts';
import { AuditStoreError } from './store.ts';

/** The table's columns, in the order backends list them in an INSERT. */
export const AUDIT_COLUMNS = [
  'seq',
  'time',
  'kind',
  'model',
  'environment',
  'git_commit',
  'workflow_id',
  'run_id',
  'step',
  'activity_id',
  'attempt',
  'actor',
  'data',
  'prev_hash',
  'hash',
] as const;

/** One column of the audit table. */
type AuditColumn = (typeof AUDIT_COLUMNS)[number];

/** Fields kept in the `data` JSON column rather than in columns of their own. */
const DATA_FIELDS = ['inputDigest', 'outputDigest', 'error', 'details'] as const;

/** The value of every column for `record`. */
export function toColumns(record: AuditRecord): Record<AuditColumn, string | number | null> {
  const data: Record<string, unknown> = {};
  for (const field of DATA_FIELDS) {
    if (record[field] !== undefined) data[field] = record[field];
  }
  return {
    seq: record.seq,
    time: record.time,
    kind: record.kind,
    model: record.model,
    environment: record.environment,
    git_commit: record.commit,
    workflow_id: record.workflowId,
    run_id: record.runId,
    step: record.step,
    activity_id: record.activityId ?? null,
    attempt: record.attempt ?? null,
    actor: record.actor,
    data: JSON.stringify(data),
    prev_hash: record.prevHash,
    hash: record.hash,
  };
}

/**
 * The record a row claims to be, unvalidated: the input to verification. Fields of `data` that
 * collide with a column are ignored (the column is what filters and display use); unknown ones
 * are kept so that the strict schema rejects them.
 */
export function rowToCandidate(row: Record<string, unknown>): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(String(row.data));
  } catch {
    data = { data: 'not valid JSON' };
  }
  const extra = typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { data };
  const candidate: Record<string, unknown> = {
    ...extra,
    seq: row.seq,
    time: row.time,
    kind: row.kind,
    model: row.model,
    environment: row.environment,
    commit: row.git_commit,
    workflowId: row.workflow_id,
    runId: row.run_id,
    step: row.step,
    actor: row.actor,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.activity_id !== null) candidate.activityId = row.activity_id;
  if (row.attempt !== null) candidate.attempt = row.attempt;
  return candidate;
}

/**
 * The validated record of a row; a malformed row is an error that points at `verify`. `where`
 * names the store in that message (a file path, a PostgreSQL table).
 */
export function toRecord(row: Record<string, unknown>, where: string): AuditRecord {
  const parsed = auditRecordSchema.safeParse(rowToCandidate(row));
  if (parsed.success) return parsed.data;
  throw new AuditStoreError(
    `record ${String(row.seq)} in ${where} is not a valid audit record (${describeIssues(parsed.error).join('; ')}); ` +
      'run `modelship audit verify`',
  );
}
