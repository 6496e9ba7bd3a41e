/**
 * How an audit record maps onto the `audit_log` table: the fields people filter on are columns,
 * the rest one JSON column. Reading rebuilds the record from the columns themselves (never
 * from a second copy), so editing any column changes the rebuilt record and breaks its hash.
 */

import { type AuditRecord, auditRecordSchema, describeIssues } from './record.ts';
import { AuditStoreError } from './store.ts';

/** `PRAGMA user_version` of the layout below; bump it with a migration. */
export const SCHEMA_VERSION = 1;

// The triggers stop accidents (a tool or a person "fixing" a row), not attackers: whoever can
// drop a trigger can edit the file, which is what the hash chain is for.
export const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  kind TEXT NOT NULL,
  model TEXT NOT NULL,
  environment TEXT NOT NULL,
  git_commit TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  activity_id TEXT,
  attempt INTEGER,
  actor TEXT NOT NULL,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_model ON audit_log (model, environment);
CREATE INDEX IF NOT EXISTS audit_log_workflow ON audit_log (workflow_id);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** Fields kept in the `data` JSON column rather than in columns of their own. */
const DATA_FIELDS = ['inputDigest', 'outputDigest', 'error', 'details'] as const;

/** Named parameters for the INSERT of `record`. */
export function toParams(record: AuditRecord): Record<string, string | number | null> {
  const data: Record<string, unknown> = {};
  for (const field of DATA_FIELDS) {
    if (record[field] !== undefined) data[field] = record[field];
  }
  return {
    ':seq': record.seq,
    ':time': record.time,
    ':kind': record.kind,
    ':model': record.model,
    ':environment': record.environment,
    ':commit': record.commit,
    ':workflowId': record.workflowId,
    ':runId': record.runId,
    ':step': record.step,
    ':activityId': record.activityId ?? null,
    ':attempt': record.attempt ?? null,
    ':actor': record.actor,
    ':data': JSON.stringify(data),
    ':prevHash': record.prevHash,
    ':hash': record.hash,
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

/** The validated record of a row; a malformed row is an error that points at `verify`. */
export function toRecord(row: Record<string, unknown>, path: string): AuditRecord {
  const parsed = auditRecordSchema.safeParse(rowToCandidate(row));
  if (parsed.success) return parsed.data;
  throw new AuditStoreError(
    `record ${String(row.seq)} in ${path} is not a valid audit record (${describeIssues(parsed.error).join('; ')}); ` +
      'run `modelship audit verify`',
  );
}
