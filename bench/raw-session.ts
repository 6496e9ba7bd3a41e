/**
 * Raw `session.run` in-process, the bottom line of the serving benchmark: one holdout row at a
 * time, as each HTTP request does, timed call by call with `process.hrtime.bigint()`. Prints
 * `{ calls, p50_us, p99_us, mean_us }` as JSON.
 * Usage: `node --import tsx bench/raw-session.ts <model.onnx> <holdout.csv> [calls]`.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { LatencyHistogram } from '../serving/loadgen/histogram.ts';
import { loadHoldoutPayloads } from '../serving/loadgen/payload.ts';
import { BENCH_SESSION_OPTIONS } from './session-options.ts';

const [modelPath, holdout, callsArg = '20000'] = process.argv.slice(2);
if (!modelPath || !holdout) throw new Error('usage: raw-session.ts <model.onnx> <holdout.csv> [calls]');
const calls = Number(callsArg);
const session = await InferenceSession.create(modelPath, BENCH_SESSION_OPTIONS);
const { bodies, featureCount } = await loadHoldoutPayloads({
  path: holdout,
  labelColumn: 'label',
  inputName: 'input',
});
// The same rows the servers get, decoded back from the request bodies.
const rows = bodies.map(
  (body) => (JSON.parse(body.toString()) as { inputs: [{ data: number[] }] }).inputs[0].data,
);
const feed = (i: number) => ({
  input: new Tensor('float32', Float32Array.from(rows[i % rows.length] ?? []), [1, featureCount]),
});

for (let i = 0; i < 2000; i += 1) await session.run(feed(i));
const histogram = new LatencyHistogram();
for (let i = 0; i < calls; i += 1) {
  const input = feed(i);
  const start = process.hrtime.bigint();
  await session.run(input);
  histogram.record(Number(process.hrtime.bigint() - start));
}
await session.release();
const us = (ns: number) => Math.round(ns / 10) / 100;
console.log(
  JSON.stringify({
    calls,
    p50_us: us(histogram.percentileNs(50)),
    p99_us: us(histogram.percentileNs(99)),
    mean_us: us(histogram.meanNs),
  }),
);
