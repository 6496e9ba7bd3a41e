/**
 * Turns a holdout CSV into ready-to-send KServe V2 request bodies, one single-row FP32 tensor
 * per row. Bodies are encoded once, before the clock starts, so the load generator spends its
 * time sending requests rather than serialising them.
 */
import { readFile } from 'node:fs/promises';
import { parseHoldoutCsv } from '../../model/holdout.ts';

/** The rows to cycle through: encoded bodies and the true class of each. */
interface LoadPayloads {
  bodies: Buffer[];
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
  return { bodies, labels: data.labels, featureCount: width };
}
