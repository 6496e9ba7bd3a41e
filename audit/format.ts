/** Audit records as a person reads them: one aligned line per record. Pure. */
import { deploymentLabel } from '../domain/deployment.ts';
import { AuditKind, type AuditRecord } from './record.ts';

/** Widest the outcome column gets; the full text is in `--json` or an export. */
const OUTCOME_WIDTH = 72;

const HEADER = ['SEQ', 'TIME', 'KIND', 'STEP', 'ATT', 'ACTOR', 'OUTCOME', 'MODEL@ENV'] as const;

/** What happened, in a few words: the error of a failure, the digest of a result, a decision's facts. */
function outcomeOf(record: AuditRecord): string {
  if (record.error) {
    const type = record.error.type ? `${record.error.type}: ` : '';
    return `${type}${record.error.message}`;
  }
  switch (record.kind) {
    case AuditKind.ActivityStarted:
      return record.inputDigest ? `input ${record.inputDigest.slice(0, 12)}` : 'started';
    case AuditKind.ActivityCompleted:
      return record.outputDigest ? `ok, output ${record.outputDigest.slice(0, 12)}` : 'ok';
    case AuditKind.ActivityFailed:
      return 'failed';
    case AuditKind.WorkflowDecision:
      return record.details ? summariseDetails(record.details) : '';
  }
}

/** `key=value` pairs, nested values as compact JSON. */
function summariseDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** The first 12 hex characters of a hash: enough to tell records apart in a message. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

/** One line per record under a header, columns aligned; the last column is not padded. */
export function formatRecordTable(records: readonly AuditRecord[]): string {
  const rows: string[][] = [
    [...HEADER],
    ...records.map((record) => [
      String(record.seq),
      formatTime(record.time),
      record.kind,
      record.step,
      record.attempt === undefined ? '' : String(record.attempt),
      record.actor,
      shorten(outcomeOf(record), OUTCOME_WIDTH),
      deploymentLabel(record),
    ]),
  ];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `2026-05-01 12:00:03Z`: seconds are enough to follow a rollout, and UTC stays explicit. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Collapses whitespace (multi-line messages) and cuts with an ellipsis. */
function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}
