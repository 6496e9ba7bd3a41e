/**
 * Rows of the PostgreSQL store as the records of `types.ts`. Every row is parsed with the same
 * schemas the callers' input was, because a row may have been edited by hand: one that does not
 * fit is a {@link DesiredStateCorruptError} naming environment, table and each field wrong.
 */
import { DesiredStateCorruptError, describeIssues } from './errors.ts';
import { DesiredState, ReplicaReport } from './types.ts';

/** A row as `pg` returns it. */
export type Row = Record<string, unknown>;

/** A `desired_state` or history row; `where` names table and server for the message. */
export function stateFromRow(environment: string, row: Row, where: string): DesiredState {
  const parsed = DesiredState.safeParse({
    environment: row.environment,
    generation: bigintValue(row.generation),
    models: row.models,
    updatedAt: timestamp(row.updated_at),
    updatedBy: row.updated_by ?? null,
    reason: row.reason ?? null,
  });
  if (parsed.success) return parsed.data;
  throw new DesiredStateCorruptError(environment, where, describeIssues(parsed.error));
}

/** A `desired_state_replicas` row; `where` names table and server for the message. */
export function reportFromRow(row: Row, where: string): ReplicaReport {
  const parsed = ReplicaReport.safeParse({
    environment: row.environment,
    replica: row.replica,
    generation: bigintValue(row.generation),
    serving: bigintValue(row.serving),
    status: row.status,
    message: row.message ?? null,
    url: row.url ?? null,
    startedAt: timestamp(row.started_at),
    reportedAt: timestamp(row.reported_at),
  });
  if (parsed.success) return parsed.data;
  throw new DesiredStateCorruptError(
    String(row.environment),
    `${where} (replica ${JSON.stringify(row.replica)})`,
    describeIssues(parsed.error),
  );
}

/** pg returns BIGINT as text; anything beyond 2^53 then fails the schema's integer check. */
function bigintValue(value: unknown): unknown {
  return typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
}

function timestamp(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : value;
}
