import { describe, expect, it } from 'vitest';
import {
  AuditKind,
  auditRecordSchema,
  InvalidAuditEventError,
  MAX_DETAILS_BYTES,
  MAX_ERROR_MESSAGE_LENGTH,
  parseAuditEvent,
} from '../../audit/record.ts';
import { sampleEvent } from './helpers.ts';

describe('audit event schema', () => {
  it('accepts each kind of the closed list', () => {
    for (const kind of Object.values(AuditKind)) {
      expect(parseAuditEvent(sampleEvent({ kind })).kind).toBe(kind);
    }
  });

  it('names every bad field at once', () => {
    const bad = {
      ...sampleEvent(),
      kind: 'activity.exploded',
      inputDigest: 'abc',
      attempt: 0,
      surprise: true,
    };
    expect(() => parseAuditEvent(bad)).toThrow(InvalidAuditEventError);
    try {
      parseAuditEvent(bad);
    } catch (error) {
      const { issues } = error as InvalidAuditEventError;
      expect(issues).toEqual([
        expect.stringMatching(/^kind: /),
        expect.stringMatching(/^attempt: /),
        'inputDigest: expected a lowercase hex SHA-256',
        '(record): Unrecognized key: "surprise"',
      ]);
    }
  });

  it('requires an ISO time', () => {
    expect(() => parseAuditEvent(sampleEvent({ time: 'yesterday' }))).toThrow(/time: /);
    expect(parseAuditEvent(sampleEvent({ time: '2026-05-01T12:00:00+02:00' })).time).toBe(
      '2026-05-01T12:00:00+02:00',
    );
  });

  it('normalises details to the JSON that is stored: undefined dropped, dates as strings, NaN as null', () => {
    const event = parseAuditEvent(
      sampleEvent({
        kind: 'workflow.decision',
        details: { reason: undefined, at: new Date(0), accuracy: 0.97, latency: Number.NaN },
      }),
    );
    expect(event.details).toEqual({ at: '1970-01-01T00:00:00.000Z', accuracy: 0.97, latency: null });
  });

  it('refuses details that JSON cannot hold or that are too large', () => {
    expect(() => parseAuditEvent(sampleEvent({ details: { count: 1n } }))).toThrow(/details: .*bigint/);
    const huge = { blob: 'x'.repeat(MAX_DETAILS_BYTES) };
    expect(() => parseAuditEvent(sampleEvent({ details: huge }))).toThrow(/details must stay under/);
  });

  it('cuts runaway error messages', () => {
    const event = parseAuditEvent(
      sampleEvent({ kind: 'activity.failed', error: { type: 'Boom', message: 'y'.repeat(10_000) } }),
    );
    expect(event.error?.message).toHaveLength(MAX_ERROR_MESSAGE_LENGTH);
    expect(event.error?.message.endsWith('…')).toBe(true);
  });

  it('stored records are strict too and need seq, prevHash and hash', () => {
    const event = parseAuditEvent(sampleEvent());
    expect(auditRecordSchema.safeParse({ ...event, seq: 1, prevHash: '0'.repeat(64) }).success).toBe(false);
    expect(
      auditRecordSchema.safeParse({ ...event, seq: 1, prevHash: '0'.repeat(64), hash: 'f'.repeat(64), x: 1 })
        .success,
    ).toBe(false);
    expect(
      auditRecordSchema.safeParse({ ...event, seq: 1, prevHash: '0'.repeat(64), hash: 'f'.repeat(64) })
        .success,
    ).toBe(true);
  });
});
