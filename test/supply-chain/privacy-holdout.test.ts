import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyCell,
  formatPersonalDataFinding,
  maskQuotedPersonalData,
  scanCsvForPersonalData,
} from '../../supply-chain/privacy/holdout-pii.ts';
import { REPO_ROOT } from '../activities/support.ts';

describe('classifyCell: what is personal data', () => {
  it.each([
    ['jane.doe+ml@example.com', 'email', 'j***@e***.com'],
    ['"o.brien@mail.example.co.uk"', 'email', 'o***@m***.uk'],
    ['contact: jane@example.org today', 'email', 'j***@e***.org'],
    ['4111 1111 1111 1111', 'card', '**** **** **** 1111'],
    ['5555-5555-5555-4444', 'card', '**** **** **** 4444'],
    ['378282246310005', 'card', '**** **** **** 0005'],
    ['4012888888881881', 'card', '**** **** **** 1881'],
    ['+14155552671', 'phone', '+******71'],
    ['+44 20 7946 0958', 'phone', '+******58'],
    ['(555) 123-4567', 'phone', '******67'],
    ['555-123-4567', 'phone', '******67'],
    ['1-800-555-0199', 'phone', '******99'],
    ['020 7946 0958', 'phone', '******58'],
    ['01 23 45 67 89', 'phone', '******89'],
  ])('%s is %s, masked %s', (cell, kind, masked) => {
    expect(classifyCell(cell)).toEqual({ kind, masked });
  });

  it.each([
    ['123-45-6789', 'us-ssn', '***-**-****'],
    ['219 09 9999', 'us-ssn', '***-**-****'],
    ['AB 12 34 56 C', 'uk-nino', 'AB** ** ** *'],
    ['ce123456a', 'uk-nino', 'CE** ** ** *'],
    ['GB82 WEST 1234 5698 7654 32', 'iban', 'GB**…(22 chars)'],
    ['DE89370400440532013000', 'iban', 'DE**…(22 chars)'],
  ])('%s is a national identifier (%s), masked %s', (cell, scheme, masked) => {
    expect(classifyCell(cell)).toEqual({ kind: 'national-id', scheme, masked });
  });

  it.each([
    // Numeric features: floats, scientific notation, signed values, integer ids and counts.
    '5.1',
    '0.2345',
    '-0.000123',
    '1.5e-7',
    '6.02E23',
    '+5.1',
    '+12345678.9',
    '42',
    '1234567890',
    '98765432101234',
    '15551234567',
    // A 16-digit id: a Visa prefix but no valid Luhn digit; a Luhn-valid id without an issuer's prefix.
    '4111111111111112',
    '1234567812345670',
    '0000000000000000',
    // Dates, times, versions, addresses, hashes and identifiers of no person.
    '2024-01-15',
    '15/01/2024',
    '2024-01-15T10:30:00Z',
    '2024-01-15 10:30:00',
    '1.2.3',
    'v10.20.300',
    '2024.01.15',
    '192.168.100.200',
    '10.0.0.1',
    '123e4567-e89b-12d3-a456-426614174000',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    // Invalid identifiers: SSN ranges never issued, NINO prefixes never allocated, a bad IBAN check.
    '000-12-3456',
    '666-12-3456',
    '912-34-5678',
    '123-00-4567',
    '123-45-0000',
    'GB 12 34 56 C',
    'AB123456E',
    'GB82 WEST 1234 5698 7654 33',
    // Text that only looks alike.
    'north',
    'user@localhost',
    '@handle',
    '(555) 1234',
    '555-1234',
    '12-34-56-78',
  ])('%s is not personal data', (cell) => {
    expect(classifyCell(cell)).toBeUndefined();
  });
});

describe('scanCsvForPersonalData', () => {
  it.each(['iris', 'breast-cancer'])('finds nothing in the committed %s holdout', async (name) => {
    const text = await readFile(join(REPO_ROOT, 'models', name, 'holdout.csv'), 'utf8');
    const scan = scanCsvForPersonalData(text);
    expect(scan).toMatchObject({ findings: [], total: 0, complete: true, scannedChars: text.length });
  });

  it('finds nothing in typical feature columns: floats, ids, counts, dates, versions', () => {
    const rows = Array.from({ length: 500 }, (_, i) =>
      [
        (Math.sin(i) * 1000).toFixed(4),
        String(1_000_000_000 + i * 7919),
        String(i % 13),
        `2024-${String((i % 12) + 1).padStart(2, '0')}-15`,
        `1.${i % 7}.${i}`,
        (i / 3).toExponential(3),
        i % 2,
      ].join(','),
    );
    const text = `f_float,user_id,count,day,model_version,tiny,label\n${rows.join('\n')}\n`;
    expect(scanCsvForPersonalData(text).total).toBe(0);
  });

  it('reports kind, row, line and column, masked, and never the value', () => {
    const text = [
      'x,contact,card,label',
      '5.1,none,,0',
      '',
      '4.9,jane.doe@example.com,,1',
      '6.2,none,4111-1111-1111-1111,2',
    ].join('\r\n');
    const scan = scanCsvForPersonalData(text);
    expect(scan.findings).toEqual([
      { kind: 'email', row: 2, line: 4, column: 'contact', masked: 'j***@e***.com' },
      { kind: 'card', row: 3, line: 5, column: 'card', masked: '**** **** **** 1111' },
    ]);
    expect(scan.byKind).toEqual({ email: 1, card: 1 });
    expect(formatPersonalDataFinding(scan.findings[0] ?? ({} as never))).toBe(
      'email in row 2 (line 4), column "contact": j***@e***.com',
    );
    const printed = JSON.stringify(scan);
    expect(printed).not.toContain('jane.doe');
    expect(printed).not.toContain('4111-1111');
  });

  it('lists 20 findings at most and counts them all', () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i}.5,user${i}@example.com`);
    const scan = scanCsvForPersonalData(`x,email\n${rows.join('\n')}\n`);
    expect(scan.findings).toHaveLength(20);
    expect(scan.total).toBe(50);
    expect(scan.byKind).toEqual({ email: 50 });
    expect(scan.findings.at(-1)?.row).toBe(20);
  });

  it('stops at the character cap, leaves a cut line out whole and says the scan is incomplete', () => {
    const text = 'x,email\n1.0,a@example.com\n2.0,b@example.com\n';
    const scan = scanCsvForPersonalData(text, { maxChars: 30 });
    expect(scan.total).toBe(1);
    expect(scan.complete).toBe(false);
    expect(scan.scannedChars).toBe('x,email\n1.0,a@example.com\n'.length);
  });
});

describe('maskQuotedPersonalData', () => {
  it('masks the quoted values of a reader message that are personal data, and nothing else', () => {
    expect(
      maskQuotedPersonalData(
        'h.csv: line 3, column "contact": "jane@example.com" is not a number; column "x": "abc" is not a number',
      ),
    ).toBe(
      'h.csv: line 3, column "contact": "j***@e***.com" is not a number; column "x": "abc" is not a number',
    );
  });
});
