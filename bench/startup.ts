/**
 * `npm run bench startup`: what a process pays before it does anything, started from its compiled
 * bundle (bin/compiled-entry.mjs) and through tsx (MODELSHIP_COMPILED_ENTRIES=0), interleaved run
 * by run so that both see the same machine. Measured: the CLI on `--help`, on the help of a
 * command that loads the Temporal client (`audit`) and of the data plane (`serve`), a real
 * `validate` of the example spec, and validation's isolated ONNX child up to its `ready` message.
 * Each run reports its own CPU (user + system, all threads) from a preloaded exit hook. Also the
 * one-off cost of building a bundle. Writes bench/results/startup.json.
 *
 * Options: `--runs N` (default 15).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compiledEntry } from '../bin/compiled-entry.mjs';
import { repoPath } from '../test/support/paths.ts';
import { machineInfo, median } from './lib/machine.ts';
import { writeResultsFile } from './lib/results-file.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 3)
  throw new Error(`--runs must be an integer of 3 or more, not ${values.runs}`);

const BIN = repoPath('bin/modelship.mjs');
const CHILD = repoPath('model/run-child.mjs');
const CPU_MARK = 'modelship-bench-cpu-us ';

interface Sample {
  wallMs: number;
  cpuMs: number;
}

type Case = { name: string; args: string[]; ipcReady?: true };

const CASES: Case[] = [
  { name: 'modelship --help', args: [BIN, '--help'] },
  { name: 'modelship audit --help', args: [BIN, 'audit', '--help'] },
  { name: 'modelship serve --help', args: [BIN, 'serve', '--help'] },
  {
    name: 'modelship validate specs/examples/iris.yaml',
    args: [BIN, 'validate', repoPath('specs/examples/iris.yaml')],
  },
  { name: 'ONNX child to ready', args: [CHILD], ipcReady: true },
];

/** Runs one case once; the preload prints the process's own CPU time as it exits. */
async function runOnce(preload: string, item: Case, compiled: boolean): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--require', preload, ...item.args], {
    env: { ...process.env, MODELSHIP_COMPILED_ENTRIES: compiled ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'pipe', ...(item.ipcReady ? (['ipc'] as const) : [])],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const stderrEnded = new Promise((resolve) => child.stderr?.once('end', resolve));
  if (item.ipcReady) child.once('message', () => child.disconnect());
  // 'exit' and the end of stderr, not 'close': a disconnected IPC channel never reports closing.
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await stderrEnded;
  const wallMs = performance.now() - started;
  const mark = stderr.split('\n').find((line) => line.startsWith(CPU_MARK));
  if (!mark)
    throw new Error(`${item.name} (${compiled ? 'compiled' : 'tsx'}) exited ${code}: ${stderr.slice(-500)}`);
  return { wallMs, cpuMs: Number(mark.slice(CPU_MARK.length)) / 1000 };
}

const round = (value: number) => Math.round(value * 10) / 10;

const scratch = await mkdtemp(join(tmpdir(), 'modelship-bench-startup-'));
try {
  const preload = join(scratch, 'report-cpu.cjs');
  await writeFile(
    preload,
    `process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(2, '\\n${CPU_MARK}' + (u.user + u.system) + '\\n'); });\n`,
  );
  // Both ways warm once (the bundle built, tsx's transform cache filled) before anything counts.
  for (const item of CASES) {
    await runOnce(preload, item, true);
    await runOnce(preload, item, false);
  }
  const results = [];
  for (const item of CASES) {
    const compiled: Sample[] = [];
    const viaTsx: Sample[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternate which goes first, so neither always follows the other.
      if (run % 2 === 0) {
        compiled.push(await runOnce(preload, item, true));
        viaTsx.push(await runOnce(preload, item, false));
      } else {
        viaTsx.push(await runOnce(preload, item, false));
        compiled.push(await runOnce(preload, item, true));
      }
    }
    const row = {
      case: item.name,
      compiledWallMs: round(median(compiled.map((s) => s.wallMs))),
      tsxWallMs: round(median(viaTsx.map((s) => s.wallMs))),
      compiledCpuMs: round(median(compiled.map((s) => s.cpuMs))),
      tsxCpuMs: round(median(viaTsx.map((s) => s.cpuMs))),
    };
    const ratio = Number((row.compiledCpuMs / row.tsxCpuMs).toFixed(2));
    results.push({ ...row, cpuRatio: ratio });
    console.log(
      `${item.name.padEnd(46)} wall ${String(row.compiledWallMs).padStart(6)} ms vs ${String(row.tsxWallMs).padStart(6)} ms through tsx; CPU ${String(row.compiledCpuMs).padStart(6)} ms vs ${String(row.tsxCpuMs).padStart(6)} ms (x${ratio})`,
    );
  }
  // The one-off cost: building the CLI's bundle into an empty cache, three times.
  const builds: number[] = [];
  for (let run = 0; run < 3; run++) {
    const cacheRoot = join(repoPath('node_modules/.cache/modelship'), `bench-${process.pid}-${run}`);
    const started = performance.now();
    await compiledEntry(repoPath('cli/main.ts'), { cacheRoot });
    builds.push(performance.now() - started);
    await rm(cacheRoot, { recursive: true, force: true });
  }
  const buildMs = round(median(builds));
  console.log(`building the CLI's bundle into an empty cache: ${buildMs} ms (median of 3)`);
  const out = repoPath('bench/results/startup.json');
  await writeResultsFile(
    out,
    {
      measuredAt: new Date().toISOString(),
      machine: machineInfo(),
      runs: RUNS,
      results,
      cliBuildMs: buildMs,
    },
    console.log,
  );
  console.log(`wrote ${out}`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
