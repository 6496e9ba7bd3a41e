/**
 * Turns a holdout CSV into ready-to-send KServe V2 request bodies, one single-row FP32 tensor
 * per row. Bodies are encoded once, before the clock starts, so the load generator spends its
 * time sending requests rather than serialising them.
 */
import { readFile } from 'node:fs/promises';
import { parseHoldoutCsv } from '../../model/holdout.ts';

/**
 * A shift of one feature, to replay the holdout as drifted traffic: `by` is added to every value
 * of the column, in the column's own units or in standard deviations of the holdout column.
 */
export interface FeatureShift {
  feature: string;
  by: number;
  unit: 'value' | 'sd';
}

/** The rows to cycle through: encoded bodies and the true class of each. */
interface LoadPayloads {
  bodies: Buffer[];
  /** The same rows with the shift applied, when one was asked for. */
  shiftedBodies?: Buffer[];
  /** The holdout label of `bodies[i]`. */
  labels: Int32Array;
  featureCount: number;
}

/** The JSON body of one single-row inference request (the Open Inference Protocol's shape). */
export function inferRequestBody(inputName: string, row: ArrayLike<number>): string {
  return JSON.stringify({
    inputs: [{ name: inputName, shape: [1, row.length], datatype: 'FP32', data: Array.from(row) }],
  });
}

/** The holdout file cannot be read or parsed; the message lists every problem found. */
export class HoldoutError extends Error {
  override readonly name = 'HoldoutError';
}

/** Reads and encodes a holdout file; throws HoldoutError with every problem the CSV parser found. */
export async function loadHoldoutPayloads(options: {
  path: string;
  labelColumn: string;
  inputName: string;
  shift?: FeatureShift;
}): Promise<LoadPayloads> {
  const text = await readFile(options.path, 'utf8').catch((error: Error) => {
    throw new HoldoutError(`cannot read holdout ${options.path}: ${error.message}`);
  });
  const parsed = parseHoldoutCsv(text, options.labelColumn, options.path);
  if (!parsed.ok) throw new HoldoutError(parsed.errors.join('\n'));
  const { data } = parsed;
  const width = data.featureNames.length;
  const bodies: Buffer[] = [];
  for (let row = 0; row < data.rows; row += 1) {
    const values = data.features.subarray(row * width, (row + 1) * width);
    bodies.push(Buffer.from(inferRequestBody(options.inputName, values)));
  }
  if (!options.shift) return { bodies, labels: data.labels, featureCount: width };
  const shifted = shiftedFeatures(data.features, data.featureNames, options.shift, options.path);
  const shiftedBodies: Buffer[] = [];
  for (let row = 0; row < data.rows; row += 1) {
    shiftedBodies.push(
      Buffer.from(inferRequestBody(options.inputName, shifted.subarray(row * width, (row + 1) * width))),
    );
  }
  return { bodies, shiftedBodies, labels: data.labels, featureCount: width };
}

/** The feature matrix with `shift` applied to its column; the column must exist. */
export function shiftedFeatures(
  features: Float64Array,
  featureNames: readonly string[],
  shift: FeatureShift,
  file: string,
): Float64Array {
  const column = featureNames.indexOf(shift.feature);
  if (column === -1) {
    throw new HoldoutError(
      `cannot shift "${shift.feature}": ${file} has no such feature column (columns: ${featureNames.join(', ')})`,
    );
  }
  const width = featureNames.length;
  const rows = features.length / width;
  let by = shift.by;
  if (shift.unit === 'sd') {
    let sum = 0;
    for (let row = 0; row < rows; row += 1) sum += features[row * width + column] as number;
    const mean = sum / rows;
    let squares = 0;
    for (let row = 0; row < rows; row += 1)
      squares += ((features[row * width + column] as number) - mean) ** 2;
    by *= Math.sqrt(squares / Math.max(1, rows - 1));
  }
  const out = Float64Array.from(features);
  for (let row = 0; row < rows; row += 1)
    out[row * width + column] = (out[row * width + column] as number) + by;
  return out;
}
