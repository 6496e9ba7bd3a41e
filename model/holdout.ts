/**
 * Reads holdout CSV files: a header row, then numbers only. Deliberately small and strict
 * (no quoting of values, no missing cells) because the data decides whether a model ships; a row
 * that cannot be read exactly is reported with its line, never guessed at.
 *
 * Slice columns (`spec.validation.slices`) are the one exception: they describe rows (a region,
 * a site) for per-group metrics, are never fed to the model, and hold any text, an empty cell
 * being a group of its own. Every other column but the label is a feature, in file order, so a
 * spec without slices reads its holdout exactly as before.
 */

/** One slice column: each row's group, by index into `values`. */
export interface HoldoutSlice {
  column: string;
  /** The column's distinct values, in the order they first appear. */
  values: string[];
  /** Per row, the index of its value in `values`. */
  codes: Int32Array;
}

/** Holdout rows as a dense row-major matrix plus integer class labels. */
export interface HoldoutData {
  /** Feature columns in file order (every column except the label and the slice columns). */
  featureNames: string[];
  rows: number;
  /** `rows × featureNames.length` values, row-major. */
  features: Float64Array;
  labels: Int32Array;
  /** The slice columns asked for, in the order asked; absent when none were. */
  slices?: HoldoutSlice[];
}

/** What the reader needs beyond the label column. */
export interface HoldoutOptions {
  /** Columns that are read as group values, not as features. */
  sliceColumns?: readonly string[];
}

type HoldoutResult = { ok: true; data: HoldoutData } | { ok: false; errors: string[] };

const MAX_ERRORS = 10;

/** A header cell (or a slice value), with optional surrounding double quotes removed. */
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
export function parseHoldoutCsv(
  text: string,
  labelColumn: string,
  file: string,
  options: HoldoutOptions = {},
): HoldoutResult {
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
  const sliceColumns = options.sliceColumns ?? [];
  const missingSlices = sliceColumns.filter((column) => !header.includes(column));
  if (missingSlices.length > 0) {
    return {
      ok: false,
      errors: [
        `${file}: no slice column ${missingSlices.map((c) => JSON.stringify(c)).join(', ')} in the header (columns: ${header.join(', ')})`,
      ],
    };
  }
  // Column index → position in `slices`, for the columns read as group values.
  const sliceAt = new Map(sliceColumns.map((column, i) => [header.indexOf(column), i]));
  const featureNames = header.filter((_, i) => i !== labelIndex && !sliceAt.has(i));
  if (featureNames.length === 0)
    return { ok: false, errors: [`${file}: no feature columns besides the label and the slices`] };
  const groups = sliceColumns.map(() => new Map<string, number>());
  const codes: number[][] = sliceColumns.map(() => []);

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
    const rowGroups = new Array<number>(sliceColumns.length).fill(0);
    let label: number | undefined;
    cells.forEach((cell, column) => {
      const slice = sliceAt.get(column);
      if (slice !== undefined) {
        const value = headerName(cell);
        const seen = groups[slice] as Map<string, number>;
        let code = seen.get(value);
        if (code === undefined) {
          code = seen.size;
          seen.set(value, code);
        }
        rowGroups[slice] = code;
        return;
      }
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
      rowGroups.forEach((code, slice) => {
        codes[slice]?.push(code);
      });
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
      ...(sliceColumns.length > 0
        ? {
            slices: sliceColumns.map((column, i) => ({
              column,
              values: [...(groups[i] as Map<string, number>).keys()],
              codes: Int32Array.from(codes[i] ?? []),
            })),
          }
        : {}),
    },
  };
}
