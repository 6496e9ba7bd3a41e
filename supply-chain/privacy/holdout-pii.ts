/**
 * Personal data in holdout CSV files: emails, phone numbers, payment card numbers and national or
 * bank identifiers, found cell by cell before validation reads the file into its reports. Like
 * `supply-chain/secrets/`, a finding says what kind of value sits where and shows it masked:
 * the value itself is never returned, so it can reach no report, audit record or CI log.
 *
 * Holdouts are mostly numeric features, so every detector is shaped to leave numbers alone: a
 * float (`5.1`, `0.2345`, `1e-5`), a bare integer id, a date (`2024-01-15`), a time, a version
 * string (`1.2.3`) or an IP address never matches. What matches:
 *
 * - email: `local@domain.tld` anywhere in a cell (the one kind searched inside free text too);
 * - card: 13 to 19 digits, alone or grouped by spaces or dashes, with an issuer's prefix and
 *   length (Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay, Maestro) and a
 *   valid Luhn check digit; a run of one repeated digit is not a card;
 * - phone: E.164 (`+` and 8 to 15 digits, optionally grouped), or a national form with at least
 *   10 digits and separators in a phone's grouping: `(555) 123-4567`, `555-123-4567`,
 *   `1-800-555-0199`, `020 7946 0958`, `01 23 45 67 89`; a bare run of digits is never a phone;
 * - national-id: a US Social Security number (`AAA-GG-SSSS`, dashes or spaces, without the
 *   ranges never issued: area 000, 666 or 900-999, group 00, serial 0000); a UK National
 *   Insurance number (`AB 12 34 56 C`, without the prefixes never allocated); an IBAN (a known
 *   country's length and a valid mod-97 check), the bank account's identifier.
 *
 * Cells are split on commas as the holdout reader splits them (`model/holdout.ts`: no quoting),
 * with surrounding double quotes removed. Everything but emails must fill its cell: a phone
 * number inside a sentence is not found, a documented limit of a scan built for tabular data.
 */

/** The kinds of personal data the scan knows. */
export type PersonalDataKind = 'email' | 'phone' | 'card' | 'national-id';

/** Which identifier a `national-id` finding is. */
export type NationalIdScheme = 'us-ssn' | 'uk-nino' | 'iban';

/** One value found: its kind, where, and the value masked (never in clear, anywhere). */
export interface PersonalDataFinding {
  kind: PersonalDataKind;
  /** For `national-id`: which identifier. */
  scheme?: NationalIdScheme;
  /** The data row, from 1 (the header is row 0). */
  row: number;
  /** The line of the file, from 1, as the holdout reader's messages count. */
  line: number;
  /** The header name of the cell's column (`#3` when the row is wider than the header). */
  column: string;
  /** `j***@e***.com`, `**** **** **** 1234`: the kind recognisable, the value not. */
  masked: string;
}

/** What a scan found: some findings listed, all counted. */
export interface PersonalDataScan {
  /** The first findings in file order, at most `maxListed`. */
  findings: PersonalDataFinding[];
  /** Every finding, listed or not. */
  total: number;
  /** Findings per kind, listed or not. */
  byKind: Partial<Record<PersonalDataKind, number>>;
  /** Characters of the text scanned. */
  scannedChars: number;
  /** False when the text was longer than `maxChars` and its tail was not scanned. */
  complete: boolean;
}

export interface PersonalDataScanOptions {
  /** Findings listed at most (default 20); the rest are counted. */
  maxListed?: number;
  /** Characters scanned at most (default 256 Mi); the rest is reported unscanned. */
  maxChars?: number;
}

/**
 * Listed findings: enough to show a person which columns hold personal data; a file that has a
 * column of emails has one per row, and listing them all only makes the report heavy.
 */
export const MAX_LISTED_FINDINGS = 20;
/**
 * The holdout is already in memory whole when it is scanned (the reader parses all of it), and
 * the scan is one pass over it, so the cap only guards against a file far beyond what validation
 * can use; a scan that stops there says so in `complete`.
 */
export const MAX_SCANNED_CHARS = 256 * 1024 * 1024;

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const EMAIL =
  /[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/;
const CARD_SHAPE = /^\d(?:[ -]?\d){12,18}$/;
const E164_PLAIN = /^\+[1-9]\d{7,14}$/;
const E164 = /^\+[1-9](?:[ .-]?\(?\d{1,4}\)?){2,7}$/;
const NANP = /^(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}$/;
const TRUNK = /^0\d{2,4}[ .-]\d{3,4}[ .-]?\d{3,4}$/;
const PAIRS = /^0\d(?:[ .-]\d{2}){4}$/;
const SSN = /^(\d{3})([ -])(\d{2})\2(\d{4})$/;
const NINO = /^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]$/;
const NINO_NEVER_ALLOCATED = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);
const IBAN_SHAPE = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;

/** IBAN length per country (ISO 13616 registry), for the countries a team is likely to meet. */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** Issuer prefixes and the lengths their cards have: what separates a card from a long id. */
const CARD_ISSUERS: { prefix: RegExp; lengths: readonly number[] }[] = [
  { prefix: /^4/, lengths: [13, 16, 19] }, // Visa
  { prefix: /^(?:5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720))/, lengths: [16] }, // Mastercard
  { prefix: /^3[47]/, lengths: [15] }, // American Express
  { prefix: /^(?:6011|64[4-9]|65)/, lengths: [16, 19] }, // Discover
  { prefix: /^35(?:2[89]|[3-8]\d)/, lengths: [16, 19] }, // JCB
  { prefix: /^3(?:0[0-5]|[689])/, lengths: [14, 16] }, // Diners Club
  { prefix: /^62/, lengths: [16, 17, 18, 19] }, // UnionPay
  { prefix: /^(?:50|5[6-9]|6[0-9])/, lengths: [13, 15, 16, 19] }, // Maestro
];

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function ibanValid(compact: string): boolean {
  if (IBAN_LENGTHS[compact.slice(0, 2)] !== compact.length) return false;
  // Mod 97 of the number the rearranged letters spell, a few digits at a time to stay exact.
  let remainder = 0;
  for (const char of compact.slice(4) + compact.slice(0, 4)) {
    const code = char.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : char;
    remainder = Number(`${remainder}${value}`) % 97;
  }
  return remainder === 1;
}

function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}

function isCard(cell: string): boolean {
  if (!CARD_SHAPE.test(cell)) return false;
  const digits = digitsOf(cell);
  if (/^(\d)\1*$/.test(digits)) return false;
  const issued = CARD_ISSUERS.some(
    (issuer) => issuer.prefix.test(digits) && issuer.lengths.includes(digits.length),
  );
  return issued && luhnValid(digits);
}

function isPhone(cell: string): boolean {
  const digits = digitsOf(cell).length;
  if (digits < 8 || digits > 15 || cell.length > 30) return false;
  if (cell.startsWith('+')) return E164.test(cell);
  return digits >= 10 && (NANP.test(cell) || TRUNK.test(cell) || PAIRS.test(cell));
}

function ssnValid(cell: string): boolean {
  const parts = SSN.exec(cell);
  if (!parts) return false;
  const area = Number(parts[1]);
  return area !== 0 && area !== 666 && area < 900 && parts[3] !== '00' && parts[4] !== '0000';
}

function ninoValid(upper: string): boolean {
  return NINO.test(upper) && !NINO_NEVER_ALLOCATED.has(upper.slice(0, 2));
}

function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  return `${email.slice(0, 1)}***@${domain.slice(0, 1)}***${domain.slice(dot)}`;
}

/** What one cell holds, masked; undefined for a cell with nothing personal in it. */
export function classifyCell(
  raw: string,
): { kind: PersonalDataKind; scheme?: NationalIdScheme; masked: string } | undefined {
  const trimmed = raw.trim();
  const cell =
    trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
      ? trimmed.slice(1, -1).trim()
      : trimmed;
  if (cell.length < 6) return undefined;
  // A plain number is a feature, not a phone or an id; only a bare card number is looked for.
  if (NUMBER.test(cell)) {
    if (E164_PLAIN.test(cell)) return { kind: 'phone', masked: `+${'*'.repeat(6)}${cell.slice(-2)}` };
    return isCard(cell) ? { kind: 'card', masked: `**** **** **** ${cell.slice(-4)}` } : undefined;
  }
  const email = EMAIL.exec(cell);
  if (email) return { kind: 'email', masked: maskEmail(email[0]) };
  if (isCard(cell)) return { kind: 'card', masked: `**** **** **** ${digitsOf(cell).slice(-4)}` };
  if (ssnValid(cell)) return { kind: 'national-id', scheme: 'us-ssn', masked: '***-**-****' };
  if (isPhone(cell))
    return { kind: 'phone', masked: `${cell.startsWith('+') ? '+' : ''}******${digitsOf(cell).slice(-2)}` };
  const upper = cell.toUpperCase();
  if (ninoValid(upper))
    return { kind: 'national-id', scheme: 'uk-nino', masked: `${upper.slice(0, 2)}** ** ** *` };
  const compact = upper.replace(/ /g, '');
  if (IBAN_SHAPE.test(compact) && ibanValid(compact)) {
    return {
      kind: 'national-id',
      scheme: 'iban',
      masked: `${compact.slice(0, 2)}**…(${compact.length} chars)`,
    };
  }
  return undefined;
}

/** Strips the quotes and spaces the holdout reader strips from a header cell. */
function columnName(cell: string): string {
  const trimmed = cell.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1)
    : trimmed;
}

/**
 * Scans CSV text (a header row, then data rows) cell by cell, the header included (a column
 * named after a person's email is personal data too). One pass, line by line, without copying
 * the text into an array of lines.
 */
export function scanCsvForPersonalData(
  text: string,
  options: PersonalDataScanOptions = {},
): PersonalDataScan {
  const maxListed = options.maxListed ?? MAX_LISTED_FINDINGS;
  const limit = Math.min(text.length, options.maxChars ?? MAX_SCANNED_CHARS);
  const findings: PersonalDataFinding[] = [];
  const byKind: Partial<Record<PersonalDataKind, number>> = {};
  let total = 0;
  let header: string[] | undefined;
  let row = 0;
  let line = 0;
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    // A line the cap cuts is left out whole: half a card number is no finding.
    if (end > limit) break;
    const content = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    line += 1;
    if (content.trim() === '') continue;
    const cells = content.split(',');
    if (header === undefined) header = cells.map((cell) => columnName(cell.replace(/^\uFEFF/, '')));
    cells.forEach((cell, index) => {
      const found = classifyCell(cell);
      if (!found) return;
      total += 1;
      byKind[found.kind] = (byKind[found.kind] ?? 0) + 1;
      if (findings.length < maxListed) {
        findings.push({ ...found, row, line, column: header?.[index] || `#${index + 1}` });
      }
    });
    row += 1;
  }
  const scannedChars = Math.min(start, text.length);
  return { findings, total, byKind, scannedChars, complete: scannedChars >= text.length };
}

/** `email in row 3, column "contact" (j***@e***.com)`: a finding on one line, for messages. */
export function formatPersonalDataFinding(finding: PersonalDataFinding): string {
  const kind = finding.scheme ? `${finding.kind} (${finding.scheme})` : finding.kind;
  return `${kind} in row ${finding.row} (line ${finding.line}), column ${JSON.stringify(finding.column)}: ${finding.masked}`;
}

/**
 * Masks every double-quoted value in `message` that holds personal data: the holdout reader
 * quotes a cell it cannot read (`"jane@example.com" is not a number`), and that message must not
 * carry the value once a policy has allowed such a holdout through the gate.
 */
export function maskQuotedPersonalData(message: string): string {
  return message.replace(/"((?:[^"\\]|\\.)*)"/g, (quoted, inner: string) => {
    const found = classifyCell(inner);
    return found ? `"${found.masked}"` : quoted;
  });
}
