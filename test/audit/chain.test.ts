import { describe, expect, it } from 'vitest';
import { hashRecord, verifyChain } from '../../audit/chain.ts';
import { type AuditRecord, GENESIS_HASH, parseAuditEvent } from '../../audit/record.ts';
import { sampleEvent } from './helpers.ts';

/** A valid chain of `n` records, built with the same function the store uses. */
function chain(n: number): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq += 1) {
    const event = parseAuditEvent(sampleEvent({ activityId: String(seq) }));
    const hash = hashRecord(prevHash, seq, event);
    records.push({ ...event, seq, prevHash, hash });
    prevHash = hash;
  }
  return records;
}

function at(records: AuditRecord[], seq: number): AuditRecord {
  const record = records[seq - 1];
  if (!record) throw new Error(`no record ${seq}`);
  return record;
}

describe('hashRecord', () => {
  it('does not depend on key order and covers seq, prevHash and every field', () => {
    const event = parseAuditEvent(sampleEvent());
    const reversed = Object.fromEntries(Object.entries(event).reverse()) as typeof event;
    const hash = hashRecord(GENESIS_HASH, 1, event);
    expect(hashRecord(GENESIS_HASH, 1, reversed)).toBe(hash);
    expect(hashRecord(GENESIS_HASH, 2, event)).not.toBe(hash);
    expect(hashRecord('1'.repeat(64), 1, event)).not.toBe(hash);
    expect(hashRecord(GENESIS_HASH, 1, { ...event, attempt: 2 })).not.toBe(hash);
  });
});

describe('verifyChain', () => {
  it('accepts a valid chain and reports its length and head', () => {
    const records = chain(5);
    expect(verifyChain(records)).toEqual({ ok: true, count: 5, headSeq: 5, headHash: at(records, 5).hash });
  });

  it('accepts the empty chain, whose head is the genesis hash', () => {
    expect(verifyChain([])).toEqual({ ok: true, count: 0, headSeq: 0, headHash: GENESIS_HASH });
  });

  it('names an altered record', () => {
    const records = chain(9);
    records[6] = { ...at(records, 7), actor: 'someone-else' };
    expect(verifyChain(records)).toEqual({
      ok: false,
      seq: 7,
      reason: 'record 7: hash does not match its content (altered?)',
    });
  });

  it('names the record after a removed one', () => {
    const records = chain(9);
    records.splice(5, 1);
    expect(verifyChain(records)).toEqual({
      ok: false,
      seq: 7,
      reason: 'record 7: expected seq 6 (a record before it is missing or out of order)',
    });
  });

  it('catches a removal that renumbered the rest', () => {
    const records = chain(9);
    records.splice(5, 1);
    const renumbered = records.map((record, index) => ({ ...record, seq: index + 1 }));
    expect(verifyChain(renumbered)).toMatchObject({
      ok: false,
      seq: 6,
      reason:
        'record 6: prevHash does not match the hash of record 5 (a record was removed, replaced or reordered)',
    });
  });

  it('catches swapped records', () => {
    const records = chain(9);
    [records[3], records[4]] = [at(records, 5), at(records, 4)];
    expect(verifyChain(records)).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/^record 5: expected seq 4/),
    });
  });

  it('catches a record going back in seq', () => {
    const records = chain(9);
    records.splice(6, 0, at(records, 2));
    expect(verifyChain(records)).toMatchObject({
      ok: false,
      seq: 2,
      reason: 'record 2: out of order (comes after record 6)',
    });
  });

  it('catches a duplicated record', () => {
    const records = chain(5);
    records.splice(3, 0, at(records, 3));
    expect(verifyChain(records)).toEqual({
      ok: false,
      seq: 3,
      reason: 'record 3: duplicate (seq 3 appears twice)',
    });
  });

  it('catches a first record that does not start from genesis', () => {
    const [first] = chain(1);
    expect(verifyChain([{ ...first, prevHash: '1'.repeat(64) }])).toMatchObject({
      ok: false,
      seq: 1,
      reason: 'record 1: prevHash is not the genesis hash (records before it removed?)',
    });
  });

  it('names a record that is not a record at all', () => {
    const records: unknown[] = chain(3);
    records[1] = { seq: 2, kind: 'nonsense' };
    expect(verifyChain(records)).toMatchObject({
      ok: false,
      seq: 2,
      reason: expect.stringMatching(/^record 2: not a valid audit record \(.*kind: /),
    });
  });

  it('hashes the record as given, so a difference hidden by normalisation still counts', () => {
    const records: Record<string, unknown>[] = chain(2);
    // Schema-valid after normalisation (the message is cut to the same text), but not what was hashed.
    const original = parseAuditEvent(
      sampleEvent({ kind: 'activity.failed', error: { message: 'x'.repeat(3000) } }),
    );
    const hash = hashRecord(GENESIS_HASH, 1, original);
    records[0] = { ...original, error: { message: 'x'.repeat(4000) }, seq: 1, prevHash: GENESIS_HASH, hash };
    expect(verifyChain(records.slice(0, 1))).toMatchObject({
      ok: false,
      seq: 1,
      reason: expect.stringMatching(/altered/),
    });
  });

  // A chain ends wherever its last record is: removing records from the end, or rewriting the
  // tail with freshly computed hashes, leaves a valid chain. Only a head pinned elsewhere
  // (an anchor) tells.
  it('cannot see truncation on its own, but an anchor can', () => {
    const records = chain(10);
    const anchor = { seq: 10, hash: at(records, 10).hash };
    const truncated = records.slice(0, 8);
    expect(verifyChain(truncated)).toMatchObject({ ok: true, count: 8 });
    expect(verifyChain(truncated, { anchor })).toEqual({
      ok: false,
      seq: 10,
      reason: 'record 10: missing, but the pinned anchor says it existed (log truncated after record 8?)',
    });
    expect(verifyChain(records, { anchor })).toMatchObject({ ok: true, count: 10 });
  });

  it('an anchor catches a tail rewritten with valid hashes', () => {
    const records = chain(4);
    const anchor = { seq: 4, hash: at(records, 4).hash };
    const forged = parseAuditEvent(sampleEvent({ actor: 'forger' }));
    records[3] = {
      ...forged,
      seq: 4,
      prevHash: at(records, 3).hash,
      hash: hashRecord(at(records, 3).hash, 4, forged),
    };
    expect(verifyChain(records)).toMatchObject({ ok: true });
    expect(verifyChain(records, { anchor })).toEqual({
      ok: false,
      seq: 4,
      reason: 'record 4: hash differs from the pinned anchor (log rewritten from here?)',
    });
  });
});
