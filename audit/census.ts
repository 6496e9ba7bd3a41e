/**
 * Every row of the audit table accounted for, the same for every backend. Pure.
 *
 * The chain walk reads only rows that can be chain records (an integer seq of 1 or more, in seq
 * order) and stops at the first bad one, so on its own it is blind to rows it never reads: a seq
 * of 0 or below, NULL, text or a real number (SQLite's dynamic typing lets a rebuilt table hold
 * them), a second copy of a seq. The census counts the whole table in one statement (COUNT(*),
 * and how many rows fall inside the walked range, above it, or outside any chain) and compares
 * the counts with what the walk accepted: a row is either in the verified chain, or reported
 * here as a stray, or counted as not verified because it comes after the chain's break.
 */

/** Stray rows listed one by one in a report; the rest are counted. */
export const STRAY_LIST_LIMIT = 20;

/** Something about the table's layout or contents that verify reports besides the chain. */
export interface Finding {
  /** A problem fails verify; a warning is printed and does not. */
  level: 'problem' | 'warning';
  message: string;
}

/** A row that is not, and can never be, part of the chain. */
export interface StrayRow {
  /** The seq as SQL writes it: `0`, `-3`, `NULL`, `'7'` (text). */
  seq: string;
  /** Why it cannot be in the chain. */
  reason: string;
}

/** What one statement over the whole table counts, given the last seq the walk verified. */
export interface TableCounts {
  /** COUNT(*): every row, whatever it holds. */
  rows: number;
  /** Rows with an integer seq from 1 to the walk's head. */
  inRange: number;
  /** Distinct seqs among those (fewer than `inRange` when a seq appears twice). */
  distinctInRange: number;
  /** Rows with an integer seq above the walk's head. */
  beyond: number;
  /** Smallest and largest integer seq in the table (null when there is none). */
  minSeq: number | null;
  maxSeq: number | null;
}

/** The table counted against the walked chain. */
export interface TableReport {
  rows: number;
  minSeq: number | null;
  maxSeq: number | null;
  /** Rows the walk verified as the chain (seq 1 to its head, each once). */
  chained: number;
  /** Rows outside any chain (seq NULL, not an integer, below 1, or a second copy of a seq). */
  strays: number;
  /** The first {@link STRAY_LIST_LIMIT} of them. */
  listed: StrayRow[];
  /** Rows after the record where the chain breaks: not verified (the break is the problem). */
  afterBreak: number;
  /** Rows appended after the walk read its last page (a live writer): verified next time. */
  appendedSince: number;
  /** Layout problems and warnings (missing constraints, unknown triggers, extra columns, …). */
  findings: Finding[];
}

/** What the walk established, as the census needs it. */
export interface WalkSummary {
  /** Whether the chain verified to its end. */
  ok: boolean;
  /** Records accepted (seq 1 to `head`). */
  verifiedCount: number;
  /** Seq of the last accepted record, 0 when none. */
  verifiedHead: number;
}

/** Why a row whose seq SQL writes as `seq` (of SQL type `type`) is outside any chain. */
export function strayReason(seq: string, type: string, copies = 1): string {
  if (type === 'null') return 'seq is NULL';
  if (type !== 'integer') return `seq is ${type === 'text' ? 'text' : `a ${type} value`}, not an integer`;
  if (copies > 1) return `seq ${seq} appears ${copies} times (only one row per seq can be in the chain)`;
  return `seq ${seq} is below 1, where every chain starts`;
}

/** Adds up the census and the walk; any row that fits nowhere is reported rather than ignored. */
export function accountRows(input: {
  counts: TableCounts;
  walk: WalkSummary;
  listed: StrayRow[];
  findings: Finding[];
}): TableReport {
  const { counts, walk } = input;
  const findings = [...input.findings];
  const outsideAnyChain = counts.rows - counts.inRange - counts.beyond;
  const extraCopies = counts.inRange - counts.distinctInRange;
  // The walk accepts seq 1..head exactly once each, so the distinct seqs in that range are the
  // rows it verified. A difference means rows changed under the walk (or a walk query that
  // misses rows): reported, never assumed away.
  const unread = counts.distinctInRange - walk.verifiedCount;
  if (unread > 0) {
    findings.push({
      level: 'problem',
      message: `${unread} rows with seq in 1..${walk.verifiedHead} were not read by the chain walk`,
    });
  } else if (unread < 0) {
    findings.push({
      level: 'problem',
      message: `${-unread} records verified by the walk are no longer in the table (deleted while verifying?)`,
    });
  }
  const afterBreak = walk.ok ? 0 : counts.beyond;
  const appendedSince = walk.ok ? counts.beyond : 0;
  if (appendedSince > 0) {
    findings.push({
      level: 'warning',
      message: `${appendedSince} records were appended while verifying; they are checked next time`,
    });
  }
  return {
    rows: counts.rows,
    minSeq: counts.minSeq,
    maxSeq: counts.maxSeq,
    chained: walk.verifiedCount,
    strays: outsideAnyChain + extraCopies,
    listed: input.listed,
    afterBreak,
    appendedSince,
    findings,
  };
}

/** Whether the table adds nothing to verify's problems (the chain is judged on its own). */
export function tableIsClean(table: TableReport): boolean {
  return table.strays === 0 && !table.findings.some((finding) => finding.level === 'problem');
}
