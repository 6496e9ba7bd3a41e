/**
 * The floor of `npm run bench:serving`: the least a KServe V2 REST server can do, a `node:http`
 * server that parses the JSON body, runs the session and writes the outputs back. No routing,
 * checks or metrics, so modelship's server minus this is the price of everything it adds.
 * Usage: `node --import tsx bench/floor-server.ts <model.onnx> [port]`; prints `{"url": …}`.
 */
import { createServer } from 'node:http';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { BENCH_SESSION_OPTIONS } from './session-options.ts';

const [modelPath, port = '0'] = process.argv.slice(2);
if (!modelPath) throw new Error('usage: floor-server.ts <model.onnx> [port]');
const session = await InferenceSession.create(modelPath, BENCH_SESSION_OPTIONS);

interface V2Input {
  name: string;
  shape: number[];
  data: number[];
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const { inputs } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: V2Input[] };
      const feeds: Record<string, Tensor> = {};
      for (const input of inputs) {
        feeds[input.name] = new Tensor('float32', Float32Array.from(input.data), input.shape);
      }
      const results = await session.run(feeds);
      const outputs = Object.entries(results).map(([name, tensor]) => ({
        name,
        shape: tensor.dims,
        datatype: tensor.type === 'int64' ? 'INT64' : 'FP32',
        data: Array.from(tensor.data as ArrayLike<number | bigint>, Number),
      }));
      const text = JSON.stringify({ model_name: 'floor', outputs });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (error as Error).message }));
    }
  });
});
// An orderly exit on SIGTERM, so that `node --cpu-prof` gets to write its profile.
process.once('SIGTERM', () => process.exit(0));
server.listen(Number(port), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }));
});
