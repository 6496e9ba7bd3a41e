/**
 * SQLite's named parameters for a row of the `audit_log` table (its layout is in
 * `sqlite-schema.ts`). Which field goes in which column, and reading a row back, are shared with
 * the other backends in `rows.ts`.
 */

import type { AuditRecord } from './record.ts';
import { toColumns } from './rows.ts';

export { rowToCandidate, toRecord } from './rows.ts';

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
