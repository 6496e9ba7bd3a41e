/**
 * The hash chain, pure: each record's hash covers its content, its position and the hash of the
 * record before it, so altering, removing, reordering or duplicating a stored record breaks the
 * chain at that record.
 *
 * What a chain alone cannot catch: anyone who can write the store can also recompute every hash
 * after the point they changed (there is no secret), and removing records from the END leaves a
 * shorter chain that is still valid. Both are caught only against a statement kept elsewhere:
 * the writer's signed checkpoints (`checkpoint.ts`, fed the walk's hashes through `onRecord`),
 * or an anchor pinned by hand — `{ seq, hash }` of the head somewhere the writer of the store
 * cannot reach (a CI log, a Git tag, a ticket), verified with `{ anchor }`. Rows the walk never
 * reads are the census's business (`census.ts`).
 */
import { sha256Hex } from '../model/files.ts';
import { canonicalJson } from './canonical.ts';
import { type AuditEvent, auditRecordSchema, describeIssues, GENESIS_HASH } from './record.ts';

/** A point of the chain pinned outside the store: the record at `seq` must have this `hash`. */
export interface ChainAnchor {
  seq: number;
  hash: string;
}

/** Outcome of verification: the first bad record and why, or the count and head of a good chain. */
export type VerifyResult =
  | { ok: true; count: number; headSeq: number; headHash: string }
  | { ok: false; seq: number; reason: string };

export interface VerifyOptions {
  /** Fails unless the chain contains the anchored record with exactly this hash. */
  anchor?: ChainAnchor;
  /**
   * Called with each record the walk accepts, in seq order: how signed checkpoints learn the
   * hash the chain holds at their seq without a second pass over a long log.
   */
  onRecord?: (seq: number, hash: string) => void;
}

/** Hash of one record: SHA-256 over the canonical JSON of `{ seq, prevHash, ...event }`. */
export function hashRecord(prevHash: string, seq: number, event: AuditEvent): string {
  return sha256Hex(canonicalJson({ ...event, seq, prevHash }));
}

/**
 * Checks records in the order given (the store's order is seq order) and names the first bad
 * one. Input is untrusted — rows read back from a database file, lines of an export — so each
 * item is schema-checked, and the hash is computed over the item exactly as given rather than
 * over a normalised copy, so that no difference from what was hashed can slip through.
 */
export function verifyChain(records: Iterable<unknown>, options: VerifyOptions = {}): VerifyResult {
  const verifier = new ChainVerifier(options);
  for (const record of records) {
    if (verifier.add(record) !== undefined) break;
  }
  return verifier.result();
}

/**
 * Incremental form of {@link verifyChain}, for streams too large to hold (a store read in pages,
 * a JSONL file read line by line). `add` returns the failure once one is found; later calls are
 * ignored.
 */
export class ChainVerifier {
  private count = 0;
  private headSeq = 0;
  private headHash = GENESIS_HASH;
  private failure: { ok: false; seq: number; reason: string } | undefined;

  constructor(private readonly options: VerifyOptions = {}) {}

  /** The seq the next record must have. */
  get expectedSeq(): number {
    return this.headSeq + 1;
  }

  /**
   * The records accepted so far (seq 1 to {@link verifiedHead}, each once), also after a failure:
   * the part of the table the walk vouches for, which a census of the table is compared with.
   */
  get verifiedCount(): number {
    return this.count;
  }

  /** Seq of the last accepted record (0 when none). */
  get verifiedHead(): number {
    return this.headSeq;
  }

  /** Records a failure found outside the chain rules (an unreadable line); the first one wins. */
  reject(reason: string): VerifyResult {
    return this.failure ?? this.fail(this.expectedSeq, reason);
  }

  /**
   * Checks the next record; returns the failure if this record (or an earlier one) is bad.
   * `label` says where the record came from (`line 7`) for records that cannot be parsed.
   */
  add(candidate: unknown, label?: string): VerifyResult | undefined {
    if (this.failure) return this.failure;
    const expected = this.expectedSeq;
    const parsed = auditRecordSchema.safeParse(candidate);
    if (!parsed.success) {
      const seq = seqOf(candidate) ?? expected;
      const where = label ? `record ${seq} (${label})` : `record ${seq}`;
      return this.fail(
        seq,
        `${where}: not a valid audit record (${describeIssues(parsed.error).join('; ')})`,
      );
    }
    const { seq, prevHash, hash } = parsed.data;
    const problem = this.linkProblem(seq, prevHash, expected);
    if (problem) return this.fail(seq, `record ${seq}: ${problem}`);
    const { seq: _s, prevHash: _p, hash: _h, ...raw } = candidate as Record<string, unknown>;
    // `raw` passed the schema above; hashing it as given (not parsed.data) is the point.
    if (hashRecord(prevHash, seq, raw as AuditEvent) !== hash) {
      return this.fail(seq, `record ${seq}: hash does not match its content (altered?)`);
    }
    const anchor = this.options.anchor;
    if (anchor && anchor.seq === seq && anchor.hash !== hash) {
      return this.fail(seq, `record ${seq}: hash differs from the pinned anchor (log rewritten from here?)`);
    }
    this.count += 1;
    this.headSeq = seq;
    this.headHash = hash;
    this.options.onRecord?.(seq, hash);
    return undefined;
  }

  /** The verdict over everything added so far. */
  result(): VerifyResult {
    if (this.failure) return this.failure;
    const anchor = this.options.anchor;
    if (anchor && anchor.seq > this.headSeq) {
      return this.fail(
        anchor.seq,
        `record ${anchor.seq}: missing, but the pinned anchor says it existed (log truncated after record ${this.headSeq}?)`,
      );
    }
    return { ok: true, count: this.count, headSeq: this.headSeq, headHash: this.headHash };
  }

  private linkProblem(seq: number, prevHash: string, expected: number): string | undefined {
    if (seq === this.headSeq && this.count > 0) return `duplicate (seq ${seq} appears twice)`;
    if (seq < expected) return `out of order (comes after record ${this.headSeq})`;
    if (seq > expected) {
      return `expected seq ${expected} (a record before it is missing${expected === 1 ? '' : ' or out of order'})`;
    }
    if (prevHash !== this.headHash) {
      return expected === 1
        ? 'prevHash is not the genesis hash (records before it removed?)'
        : `prevHash does not match the hash of record ${this.headSeq} (a record was removed, replaced or reordered)`;
    }
    return undefined;
  }

  private fail(seq: number, reason: string): VerifyResult {
    this.failure = { ok: false, seq, reason };
    return this.failure;
  }
}

function seqOf(candidate: unknown): number | undefined {
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  const seq = (candidate as { seq?: unknown }).seq;
  return typeof seq === 'number' && Number.isInteger(seq) ? seq : undefined;
}
