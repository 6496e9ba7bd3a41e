/**
 * The SQLite layout of the `audit_log` table. Which field goes in which column, and reading a
 * row back, are shared with the other backends in `rows.ts`.
 */

import type { AuditRecord } from './record.ts';
import { toColumns } from './rows.ts';

export { rowToCandidate, toRecord } from './rows.ts';

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

/** Named parameters for the INSERT of `record`. */
export function toParams(record: AuditRecord): Record<string, string | number | null> {
  const columns = toColumns(record);
  return {
    ':seq': columns.seq,
    ':time': columns.time,
    ':kind': columns.kind,
    ':model': columns.model,
    ':environment': columns.environment,
    ':commit': columns.git_commit,
    ':workflowId': columns.workflow_id,
    ':runId': columns.run_id,
    ':step': columns.step,
    ':activityId': columns.activity_id,
    ':attempt': columns.attempt,
    ':actor': columns.actor,
    ':data': columns.data,
    ':prevHash': columns.prev_hash,
    ':hash': columns.hash,
  };
}
