/**
 * Predictions and ground truth for a served iris model, as a caller's pipeline sends them: rows
 * to `/infer` (the prediction ids kept), then labels to `/feedback` later, in batches.
 */
import { expect } from 'vitest';
import { httpCall } from './http-call.ts';

export interface ServedPrediction {
  id: string;
  predicted: number;
}

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
];

/** Sends `count` predictions of three fixed iris rows; every prediction id, and what was predicted. */
export async function predictIris(url: string, model: string, count: number): Promise<ServedPrediction[]> {
  const predictions: ServedPrediction[] = [];
  for (let i = 0; i < count; i += 1) {
    const row = ROWS[i % ROWS.length] as number[];
    const response = await httpCall(`${url}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }] }),
    });
    expect(response.status).toBe(200);
    const body = JSON.parse(response.text) as { outputs: { name: string; data: number[] }[] };
    const id = response.headers.get('x-modelship-prediction-id');
    expect(id).toBeTruthy();
    predictions.push({
      id: id as string,
      predicted: body.outputs.find((output) => output.name === 'label')?.data[0] ?? -1,
    });
  }
  return predictions;
}

/** Feeds labels back in batches of 100: nine in ten say the model was wrong. */
export async function feedMostlyWrongLabels(
  dataPlane: { url: string; feedbackToken: string },
  model: string,
  predictions: readonly ServedPrediction[],
): Promise<void> {
  const labels = predictions.map(({ id, predicted }, i) => ({
    prediction_id: id,
    label: i % 10 === 0 ? predicted : (predicted + 1) % 3,
  }));
  for (let start = 0; start < labels.length; start += 100) {
    const batch = labels.slice(start, start + 100);
    const response = await httpCall(`${dataPlane.url}/v2/models/${model}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${dataPlane.feedbackToken}` },
      body: JSON.stringify({ labels: batch }),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ accepted: batch.length });
  }
}
