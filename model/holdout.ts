/**
 * Reads holdout CSV files: a header row, then numbers only. Deliberately small and strict
 * (no quoting of values, no missing cells) because the data decides whether a model ships; a row
 * that cannot be read exactly is reported with its line, never guessed at.
 */

/** Holdout rows as a dense row-major matrix plus integer class labels. */
export interface HoldoutData {
  /** Feature columns in file order (every column except the label). */
  featureNames: string[];
  rows: number;
  /** `rows × featureNames.length` values, row-major. */
  features: Float64Array;
  labels: Int32Array;
}

type HoldoutResult = { ok: true; data: HoldoutData } | { ok: false; errors: string[] };

const MAX_ERRORS = 10;

/** A header cell, with optional surrounding double quotes removed. */
function headerName(cell: string): string {
  const trimmed = cell.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1)
    : trimmed;
}

/**
 * Parses the CSV text. `file` only names the file in messages. Errors name the 1-based line
 * (and column where it helps); at most ten are listed, with a count of the rest.
 */
export function parseHoldoutCsv(text: string, labelColumn: string, file: string): HoldoutResult {
  const errors: string[] = [];
  let errorCount = 0;
  const fail = (message: string) => {
    errorCount += 1;
    if (errors.length < MAX_ERRORS) errors.push(`${file}: ${message}`);
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerIndex = lines.findIndex((line) => line.trim() !== '');
  if (headerIndex === -1) return { ok: false, errors: [`${file}: the file is empty`] };
  const header = (lines[headerIndex] ?? '').split(',').map(headerName);
  const labelIndex = header.indexOf(labelColumn);
  if (labelIndex === -1) {
    return {
      ok: false,
      errors: [
        `${file}: no label column ${JSON.stringify(labelColumn)} in the header (columns: ${header.join(', ')})`,
      ],
    };
  }
  const duplicates = header.filter((name, i) => header.indexOf(name) !== i);
  if (duplicates.length > 0)
    return { ok: false, errors: [`${file}: duplicate columns: ${duplicates.join(', ')}`] };
  const featureNames = header.filter((_, i) => i !== labelIndex);
  if (featureNames.length === 0)
    return { ok: false, errors: [`${file}: no feature columns besides the label`] };

  const features: number[] = [];
  const labels: number[] = [];
  for (let i = headerIndex + 1; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    const cells = line.split(',');
    if (cells.length !== header.length) {
      fail(`line ${lineNo}: expected ${header.length} columns, found ${cells.length}`);
      continue;
    }
    const row: number[] = [];
    let label: number | undefined;
    cells.forEach((cell, column) => {
      const trimmed = cell.trim();
      const value = trimmed === '' ? Number.NaN : Number(trimmed);
      const name = header[column] ?? `#${column}`;
      if (!Number.isFinite(value)) {
        fail(`line ${lineNo}, column ${JSON.stringify(name)}: ${JSON.stringify(trimmed)} is not a number`);
      } else if (column === labelIndex) {
        if (Number.isInteger(value) && Math.abs(value) <= 2 ** 31 - 1) label = value;
        else fail(`line ${lineNo}, column ${JSON.stringify(name)}: label ${trimmed} is not an integer class`);
      } else {
        row.push(value);
      }
    });
    if (label !== undefined && row.length === featureNames.length) {
      features.push(...row);
      labels.push(label);
    }
  }
  if (errorCount > errors.length)
    errors.push(`${file}: ${errorCount - errors.length} more error(s) not shown`);
  if (errorCount > 0) return { ok: false, errors };
  if (labels.length === 0) return { ok: false, errors: [`${file}: the header is there but no data rows`] };
  return {
    ok: true,
    data: {
      featureNames,
      rows: labels.length,
      features: Float64Array.from(features),
      labels: Int32Array.from(labels),
    },
  };
}
