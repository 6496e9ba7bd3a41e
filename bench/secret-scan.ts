/**
 * `npm run bench secret-scan`: whether the secret scan gets slower the longer a process lives.
 * One fresh process per variant, side by side: the scan as shipped (secretlint's profiler
 * switched off in supply-chain/secrets/scan-text.ts) and with secretlint's own profiler put back.
 * Each scans the same small YAML text over and over, letting the event loop turn after each scan
 * as a worker does between activities, and reports the CPU per scan of each batch and how many
 * entries Node's performance timeline holds at its end. Writes bench/results/secret-scan.json.
 *
 * Options: `--batches N` (default 4), `--scans N` per batch (default 500).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { repoPath } from '../test/support/paths.ts';
import { machineInfo } from './lib/machine.ts';
import { writeResultsFile } from './lib/results-file.ts';

const VARIANTS = {
  shipped: 'as shipped (profiler off)',
  'profiler-on': "secretlint's profiler on",
} as const;
type Variant = keyof typeof VARIANTS;

interface Batch {
  scans: number;
  cpuMsPerScan: number;
  timelineEntries: number;
}

/** In the child: scans in batches and prints each batch as a JSON line. */
async function measure(variant: Variant, batches: number, scans: number): Promise<void> {
  const { locateSecrets } = await import('../supply-chain/secrets/scan-text.ts');
  if (variant === 'profiler-on') {
    const { secretLintProfiler } = await import('@secretlint/profiler');
    // The own property set by scan-text.ts shadows the class's method; removing it restores it.
    delete (secretLintProfiler as { mark?: unknown }).mark;
  }
  const text = 'model: iris\nowner: ml-platform\nnote: no secrets here\n'.repeat(40);
  for (let batch = 0; batch < batches; batch++) {
    const before = process.cpuUsage();
    for (let index = 0; index < scans; index++) {
      await locateSecrets(`specs/iris-${index}.yaml`, text);
      await new Promise((resolveTurn) => setImmediate(resolveTurn));
    }
    const used = process.cpuUsage(before);
    const line: Batch = {
      scans: (batch + 1) * scans,
      cpuMsPerScan: (used.user + used.system) / 1000 / scans,
      timelineEntries: performance.getEntries().length,
    };
    console.log(JSON.stringify(line));
  }
}

async function runVariant(variant: Variant, batches: number, scans: number): Promise<Batch[]> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      variant,
      '--batches',
      String(batches),
      '--scans',
      String(scans),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  if (code !== 0) throw new Error(`bench secret-scan: the ${variant} child exited with ${code}`);
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Batch);
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    batches: { type: 'string', default: '4' },
    scans: { type: 'string', default: '500' },
  },
});
const batches = Number(values.batches);
const scans = Number(values.scans);
if (!Number.isInteger(batches) || batches < 2)
  throw new Error(`--batches must be 2 or more, not ${values.batches}`);
if (!Number.isInteger(scans) || scans < 10)
  throw new Error(`--scans must be 10 or more, not ${values.scans}`);

if (values.child !== undefined) {
  if (!(values.child in VARIANTS)) throw new Error(`unknown variant ${values.child}`);
  await measure(values.child as Variant, batches, scans);
} else {
  const results: Record<string, Batch[]> = {};
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    console.log(`bench secret-scan: ${VARIANTS[variant]}: ${batches} batches of ${scans} scans…`);
    results[variant] = await runVariant(variant, batches, scans);
  }
  console.log(
    '\nCPU per scan (ms) after N scans in one process, and performance timeline entries at the end',
  );
  console.log(
    `${'scans'.padStart(6)}  ${Object.values(VARIANTS)
      .map((label) => label.padStart(28))
      .join('  ')}`,
  );
  for (let index = 0; index < batches; index++) {
    const cells = (Object.keys(VARIANTS) as Variant[]).map((variant) => {
      const batch = results[variant]?.[index];
      return `${batch?.cpuMsPerScan.toFixed(2)} ms`.padStart(28);
    });
    console.log(`${String((index + 1) * scans).padStart(6)}  ${cells.join('  ')}`);
  }
  const growth = (variant: Variant) => {
    const list = results[variant] ?? [];
    return (list.at(-1)?.cpuMsPerScan ?? 0) / (list[0]?.cpuMsPerScan ?? 1);
  };
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    console.log(
      `${VARIANTS[variant]}: last batch / first batch x${growth(variant).toFixed(1)}, ${results[variant]?.at(-1)?.timelineEntries} timeline entries`,
    );
  }
  await writeResultsFile(
    repoPath('bench/results/secret-scan.json'),
    { machine: machineInfo(), batches, scansPerBatch: scans, variants: VARIANTS, results },
    console.error,
  );
}
