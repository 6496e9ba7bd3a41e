/**
 * `npm run bench [name] [-- options]`: runs one benchmark by name, or every benchmark when no name
 * is given. Each benchmark is its own script (`bench/<name>.ts`) run in a fresh process, so that
 * one cannot warm up or slow down the next. Benchmarks are never part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS: Record<string, string> = {
  serving: 'KServe V2 servers side by side: raw session.run, floor, modelship, Python peer; split; swaps',
  detection: 'Rollback judges on seeded synthetic traffic: modelship sequential vs Flagger- and Argo-style',
  drift:
    'Monitor tests on seeded drift and decay: modelship drift and floor tests vs daily PSI, KS and accuracy checks',
  engine:
    'The engine: control overhead of a five-step rollout, 100 concurrent rollouts on one worker, worker cold start, replica convergence (file store vs PostgreSQL), restart to serving',
  startup:
    'Process start-up: the CLI and the isolated ONNX child from their compiled bundles vs through tsx (wall and CPU, interleaved)',
  'secret-scan':
    "The secret scan in a long-lived process: CPU per scan as scans accumulate, as shipped vs with secretlint's profiler on",
  'test-suite':
    'npm test now vs at an earlier commit (default: before issue 10), side by side on this machine: wall, CPU, tests',
  container:
    'The modelship image: size, cold start of serve and of one-shot commands in a container vs on the host (needs Docker and the image)',
};

const [name, ...rest] = process.argv.slice(2);
if (name === '--help' || name === '-h') {
  console.log(
    `Usage: npm run bench [name] [-- options]\n\nBenchmarks:\n${Object.entries(BENCHMARKS)
      .map(([key, what]) => `  ${key.padEnd(10)} ${what}`)
      .join('\n')}`,
  );
  process.exit(0);
}
if (name !== undefined && !(name in BENCHMARKS)) {
  console.error(`bench: unknown benchmark "${name}" (known: ${Object.keys(BENCHMARKS).join(', ')})`);
  process.exit(2);
}

for (const benchmark of name === undefined ? Object.keys(BENCHMARKS) : [name]) {
  const script = fileURLToPath(new URL(`./${benchmark}.ts`, import.meta.url));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...rest], { stdio: 'inherit' });
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  if (code !== 0) process.exit(code);
}
