/**
 * `npm run bench test-suite`: how long `npm test` takes now against how long it took at an earlier
 * commit, on this machine, in one run. Issue 10 asks that the suite be no slower than it was when
 * the issue was filed, covering no less; these machines differ from day to day by a third or more,
 * so only a side-by-side measurement says anything.
 *
 * The earlier commit (`--base`, default the last commit before issue 10's work) is checked out as a
 * git worktree in the temporary folder and installed with `npm ci` once (kept for later runs); each
 * tree's test tools are installed before anything is timed. Then each round runs both suites'
 * `npm test` (CI=true), one after the other, alternating which goes first; nothing else should run
 * meanwhile. Reported per suite: wall time, the whole machine's busy CPU during the run (every
 * process the suite starts; other load on the machine counts too), test files and
 * tests passed; medians over rounds and their ratios.
 *
 * Options: --base <commit> (default 3d9b30e), --rounds <n> (default 2).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/support/paths.ts';
import { machineBusySeconds, machineInfo, median } from './lib/machine.ts';
import { writeResultsFile } from './lib/results-file.ts';

/** The tree issue 10 was filed against: the last commit before its work began. */
const ISSUE_10_BASE = '3d9b30e';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: ISSUE_10_BASE },
    rounds: { type: 'string', default: '2' },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`bench test-suite: --rounds must be a whole number of at least 1, not "${values.rounds}"`);
  process.exit(2);
}

interface SuiteRun {
  wall_s: number;
  machine_cpu_s: number;
  exit_code: number;
  test_files_passed: number | null;
  tests_passed: number | null;
}

/** Runs `command` in `cwd`; resolves with its exit code and everything it printed. */
function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, CI: 'true', FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code, signal) => resolveRun({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** `git rev-parse` of `ref` in this repository; exits naming `what` when it is unknown. */
async function resolveCommit(ref: string, what: string): Promise<string> {
  const { code, output } = await run('git', ['rev-parse', '--verify', `${ref}^{commit}`], REPO_ROOT);
  if (code !== 0) {
    console.error(`bench test-suite: ${what} ${ref} is not a commit of this repository (${output.trim()})`);
    process.exit(2);
  }
  return output.trim();
}

/** A worktree of `commit` with its dependencies installed, made once and kept for later runs. */
async function baseTree(commit: string): Promise<string> {
  // Outside this repository's node_modules: vitest treats files under node_modules as
  // dependencies, and the base tree's tests fail there.
  const dir = join(tmpdir(), 'modelship-bench-test-suite', commit.slice(0, 12));
  if (!existsSync(join(dir, 'package.json'))) {
    console.log(`bench test-suite: checking out ${commit.slice(0, 12)} into ${dir}`);
    await mkdir(join(dir, '..'), { recursive: true });
    const added = await run('git', ['worktree', 'add', '--force', '--detach', dir, commit], REPO_ROOT);
    if (added.code !== 0) throw new Error(`git worktree add failed:\n${added.output}`);
  }
  if (!existsSync(join(dir, 'node_modules'))) {
    console.log('bench test-suite: npm ci in the base tree (once)');
    const installed = await run('npm', ['ci', '--no-audit', '--no-fund'], dir);
    if (installed.code !== 0) throw new Error(`npm ci in ${dir} failed:\n${installed.output}`);
  }
  return dir;
}

/** Installs the test tools of the tree at `dir` first, so that no measured run pays for it. */
async function ensureTools(dir: string): Promise<void> {
  const { code, output } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/ensure-test-tools.ts'],
    dir,
  );
  if (code !== 0) throw new Error(`installing the test tools in ${dir} failed:\n${output}`);
}

/** The count vitest's summary gives for `label` ("Test Files", "Tests"), passed only. */
function passed(output: string, label: string): number | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes, if any, are removed
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const match = new RegExp(`^\\s*${label}\\s+(?:.*?\\|\\s*)?(\\d+) passed`, 'm').exec(plain);
  return match ? Number(match[1]) : null;
}

async function runSuite(name: string, dir: string, round: number): Promise<SuiteRun> {
  console.log(`bench test-suite: round ${round}: npm test of ${name} ...`);
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const { code, output } = await run('npm', ['test'], dir);
  const result: SuiteRun = {
    wall_s: Math.round((performance.now() - started) / 100) / 10,
    machine_cpu_s: Math.round(machineBusySeconds() - busyBefore),
    exit_code: code,
    test_files_passed: passed(output, 'Test Files'),
    tests_passed: passed(output, 'Tests'),
  };
  console.log(
    `bench test-suite: round ${round}: ${name}: exit ${code}, ${result.wall_s} s wall, ${result.machine_cpu_s} s CPU, ${result.tests_passed ?? '?'} tests passed`,
  );
  if (code !== 0) console.log(output.split('\n').slice(-40).join('\n'));
  return result;
}

const baseCommit = await resolveCommit(values.base, '--base');
const headCommit = await resolveCommit('HEAD', "the checkout's");
const machine = machineInfo();
const base = await baseTree(baseCommit);
await ensureTools(base);
await ensureTools(REPO_ROOT);
const suites = { base: [] as SuiteRun[], current: [] as SuiteRun[] };
for (let round = 1; round <= rounds; round += 1) {
  const order = round % 2 === 1 ? (['base', 'current'] as const) : (['current', 'base'] as const);
  for (const name of order) {
    suites[name].push(await runSuite(name, name === 'base' ? base : REPO_ROOT, round));
  }
}

const summary = (runs: SuiteRun[]) => ({
  wall_s_median: median(runs.map((r) => r.wall_s)),
  machine_cpu_s_median: median(runs.map((r) => r.machine_cpu_s)),
  tests_passed: runs[0]?.tests_passed ?? null,
  all_passed: runs.every((r) => r.exit_code === 0),
});
const baseSummary = summary(suites.base);
const currentSummary = summary(suites.current);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const results = {
  schema_version: 1,
  benchmark: 'test-suite',
  date: new Date().toISOString(),
  machine,
  method: {
    statistic: `median of ${rounds} round(s); each round runs both suites one after the other, alternating which goes first`,
    command: 'npm test with CI=true, tools already installed in each tree',
    cpu: 'busy CPU of the whole machine during the run (/proc/stat), so every process the suite starts counts',
  },
  base: { commit: baseCommit, ...baseSummary, runs: suites.base },
  current: { commit: headCommit, ...currentSummary, runs: suites.current },
  ratios_current_over_base: {
    wall: ratio(currentSummary.wall_s_median, baseSummary.wall_s_median),
    machine_cpu: ratio(currentSummary.machine_cpu_s_median, baseSummary.machine_cpu_s_median),
    tests: ratio(currentSummary.tests_passed ?? Number.NaN, baseSummary.tests_passed ?? Number.NaN),
  },
};
console.log(
  `bench test-suite: base ${baseCommit.slice(0, 12)}: ${baseSummary.wall_s_median} s, ${baseSummary.tests_passed} tests; current: ${currentSummary.wall_s_median} s, ${currentSummary.tests_passed} tests; wall x${results.ratios_current_over_base.wall}, CPU x${results.ratios_current_over_base.machine_cpu}`,
);
await writeResultsFile(join(REPO_ROOT, 'bench', 'results', 'test-suite.json'), results, console.log);
