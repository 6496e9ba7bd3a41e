/**
 * Running holdout rows through a loaded session batch by batch, for the holdout pass and for the
 * shuffled rows of permutation importance (both inside the isolated child). Problems are the
 * model's: a model that loads but cannot run on well-formed input, or answers in the wrong shape,
 * will not do better on a retry, so they are ModelUnloadable.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { ModelError, ModelErrorKind } from './errors.ts';
import type { FeedPlan, ProgressReporter } from './feeding.ts';

/** Where the classes (and, optionally, the class probabilities) come from. */
export interface PredictOutputs {
  prediction: string;
  probability?: string;
}

export interface Predicted {
  predictions: Int32Array<ArrayBuffer>;
  /** `rows × columns`, row-major, when a probability output was asked for. */
  probabilities?: { columns: number; values: Float32Array<ArrayBuffer> };
}

function fails(message: string, details?: unknown): never {
  throw new ModelError(ModelErrorKind.ModelUnloadable, message, details);
}

/**
 * Predicts rows `0 .. rows − 1` of the feed plan; `progress` hears after each batch how many rows
 * are done. `what` names the rows in messages (`holdout rows`, `shuffled rows`).
 */
export async function predictRows(
  session: InferenceSession,
  feed: FeedPlan,
  rows: number,
  outputs: PredictOutputs,
  what: string,
  progress: (done: number) => void = () => {},
): Promise<Predicted> {
  const predictions = new Int32Array(rows);
  let probabilities: Float32Array<ArrayBuffer> | undefined;
  let columns = 0;
  const names = [outputs.prediction, ...(outputs.probability ? [outputs.probability] : [])];
  for (let start = 0; start < rows; start += feed.batchSize) {
    const count = Math.min(feed.batchSize, rows - start);
    const result = await session.run(feed.feeds(start, count), names).catch((error: unknown) => {
      fails(`the model fails to run on ${what} ${start + 1}-${start + count}: ${(error as Error).message}`, {
        error: (error as Error).message,
      });
    });
    const tensor = result[outputs.prediction];
    if (!tensor || tensor.size !== count) {
      fails(
        `output "${outputs.prediction}" has ${tensor?.size ?? 0} values for a batch of ${count} rows; expected one class per row`,
      );
    }
    const values = tensor.data as ArrayLike<number | bigint>;
    for (let i = 0; i < count; i += 1) predictions[start + i] = Number(values[i]);
    if (outputs.probability) {
      const matrix = result[outputs.probability];
      const width = matrix?.dims.length === 2 ? Number(matrix.dims[1]) : 0;
      if (!matrix || width < 1 || matrix.size !== count * width || (columns !== 0 && width !== columns)) {
        fails(
          `output "${outputs.probability}" has shape [${matrix?.dims.join(', ') ?? ''}] for a batch of ${count} rows; expected [${count}, classes]`,
        );
      }
      if (!probabilities) {
        columns = width;
        probabilities = new Float32Array(rows * columns);
      }
      const data = matrix.data as ArrayLike<number>;
      for (let i = 0; i < count * columns; i += 1) probabilities[start * columns + i] = Number(data[i]);
    }
    progress(start + count);
  }
  return { predictions, ...(probabilities ? { probabilities: { columns, values: probabilities } } : {}) };
}

/** `progress` for {@link predictRows} reporting `{ phase, rows }`. */
export function rowsProgress(progress: ProgressReporter, phase: string): (done: number) => void {
  return (rows) => progress({ phase, rows });
}
